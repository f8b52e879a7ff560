"""The corpus: the bundled source, the parser's records, criteria.jsonl, bad input.

Golden values below were derived by reading `corpus/fisc_aws_response.txt`
(`awk 'NF{print NR": "$0}' corpus/fisc_aws_response.txt | sed -n '516,545p'`),
not copied from the parser. Each expected string is spelled as the source lines
it comes from (NFKC-normalised: ⽴ → 立, （）→ (), ： → :), one fragment per
source line with its line number, joined the way the PDF wrapped them: nothing
between the halves of a Japanese word, " " where an English phrase was broken
between words, "\n" between paragraphs and bullets.
"""
from __future__ import annotations

import hashlib
import unicodedata
from collections import Counter
from pathlib import Path

import pytest

from corpus.parser import SOURCE, SOURCE_SHA256, CorpusFormatError, parse, parse_file
from corpus.records import UnknownCriterion, normalize_id, read_jsonl, write_jsonl
from corpus.vocabulary import id_sort_key, ids_in

ROOT = Path(__file__).resolve().parent.parent
CRITERIA_JSONL = ROOT / "corpus" / "criteria.jsonl"


@pytest.fixture(scope="module")
def doc():
    return parse_file()


@pytest.fixture(scope="module")
def source_lines() -> list[str]:
    """The source split exactly as the parser numbers it (1-based via index + 1)."""
    return SOURCE.read_text(encoding="utf-8").splitlines(keepends=True)


# ---------------------------------------------------------------- the source


def test_bundled_source_is_byte_for_byte():
    assert hashlib.sha256(SOURCE.read_bytes()).hexdigest() == SOURCE_SHA256


def test_document_records_source_hash(doc):
    assert doc.source_sha256 == SOURCE_SHA256


# ---------------------------------------------------------------- counts


def test_exactly_153_criteria_none_missing_or_duplicated(doc):
    ids = [c.id for c in doc.criteria]
    expected = [f"実{n}" for n in range(1, 149)] + [f"監{n}" for n in range(1, 6)]
    assert len(ids) == 153
    assert ids == expected  # in document order, no gaps, no duplicates
    assert [c for c, n in Counter(ids).items() if n > 1] == []


def test_series_and_number_agree_with_id(doc):
    for c in doc.criteria:
        assert c.series == {"実": "実務基準", "監": "監査基準"}[c.id[0]], c.id
        assert c.id == f"{c.id[0]}{c.number}"


def test_responsibility_combinations(doc):
    # Counted on the source's row headers: `grep -P '^\s*実\d+\s+[◯-]\s+[◯-]'`
    # gives "- ◯" 95, "◯ -" 12, "◯ ◯" 41 (39 + the indented 実14 and 実21);
    # the five audit rows are all "- 〇".
    combos = Counter((c.aws_role, c.customer_role) for c in doc.criteria)
    assert combos == {("-", "◯"): 100, ("◯", "◯"): 41, ("◯", "-"): 12}
    by_series = Counter((c.series, c.aws_role, c.customer_role) for c in doc.criteria)
    assert by_series == {
        ("実務基準", "-", "◯"): 95,
        ("実務基準", "◯", "◯"): 41,
        ("実務基準", "◯", "-"): 12,
        ("監査基準", "-", "◯"): 5,
    }


def test_roles_are_normalised_marks(doc):
    # the audit rows use 〇 (U+3007), the practice rows ◯ (U+25EF): one value each
    assert {c.aws_role for c in doc.criteria} | {c.customer_role for c in doc.criteria} == {"◯", "-"}


# ---------------------------------------------------------------- golden records

BOILERPLATE = (
    "お客様がAWS上で実装するシステムおよびサービスの管理は、AWSが提"  # 8
    "供する機能および情報もしくはその他の機能を用いて、お客様にて実施"  # 10
    "します。"  # 12
)
AUDIT_INTRO = "・以下の情報を参考にAWSを外部委託先としての監査にお役立てください。"  # 3243 (お役⽴て)
AUDIT_TRADITIONAL = (
    "従来、統制目標と統制の設計と運用効率の検証は、社内外の監査人がプロセスを実地検証し、証拠を評価することによって行われています。お客様またはお客様の社外監査人による直接の監視または検証は、一般"  # 3245
    "的に、統制の妥当性を確認するために行われます。AWS などのサービスプロバイダーを使用する場合、企業はサードパーティーによる証明および認定を要求し、評価することで、統制目標と統制の設計と運用効"  # 3247
    "率の合理的な保証を獲得します。その結果、お客様の主な統制を AWS が管理している場合でも、統制環境を統一されたフレームワークのまま維持し、効率的に運用しながらすべての統制を把握し、検証すること"  # 3249
    "ができます。サードパーティーによる証明と AWS の認定によって、統制環境を高いレベルで検証できるだけでなく、AWS クラウドの自社の IT 環境に対して特定の検証作業を自社で実行する要求を持つお客様に"  # 3251
    "も役立ちます。"  # 3253
)
SECURITY_PROCESSES = "アマゾン ウェブ サービス:セキュ" "リティプロセスの概要"
CONTROLS_URL = "https://aws.amazon.com/jp/com" "pliance/data-center/controls/"

GOLDEN: dict[str, dict] = {
    # lines 8–14: "実1 - ◯ - お客様が…", the empty AWS cell on the header line,
    # the empty reference cell "-" on line 14
    "実1": dict(
        id="実1", series="実務基準", number=1, aws_role="-", customer_role="◯",
        aws_status="",
        customer_controls=BOILERPLATE,
        references=(), urls=(),
        page=1, same_as=None, line_start=8, line_end=14,
    ),
    # lines 117–173 (the header line is indented: a page that lost its legend)
    "実14": dict(
        id="実14", series="実務基準", number=14, aws_role="◯", customer_role="◯",
        aws_status=(
            "・AWSネットワークは、従来のネットワークセキュリティ問題に対する強力な保護機能を提供します。"  # 117
            "\n"
            "保護機能の例:"  # 119
            "\n"
            "- 分散サービス拒否(DDoS)攻撃"  # 121
            "\n"
            "- 中間者(MITM)による攻撃"  # 123
            "\n"
            "- IPスプーフィング"  # 125
            "\n"
            "- ポートスキャン"  # 127
            "\n"
            "- 第三者によるパケットスニッフィング"  # 129
            "\n"
            "AWS は、様々な自動モニタリングシステムを活用して、ハイレベルなサービスパフォーマンスと可用性を提供します。AWS モニタリングツールは、異常な、または不"  # 131
            "正なアクティビティと条件を通信の出入り口で検出するように設計されています。これらのツールは、サーバーおよびネットワークの利用状況、ポートスキャニングアク"  # 133
            "ティビティ、アプリケーションの利用状況、および許可されていない侵入の試みをモニタリングします。"  # 135
            "\n"
            "モニタリングに加えて、AWS 環境内のホストオペレーティングシステム、ウェブアプリケーション、およびデータベースで様々なツールを使用した脆弱性のスキャンが"  # 137
            "定期的に実行されます。また、AWS セキュリティチームは、該当するベンダーの不具合に関するニュースフィードを購読し、積極的にベンダーのウェブサイトやその他"  # 139
            "の関連する販売経路を監視し、新しいパッチがないかどうかの確認を行っています。さらに、AWS のお客様から各種問題を AWS にご報告いただけるようにしていま"  # 141
            "す。AWS 脆弱性レポートのウェブサイト(http://aws.amazon.com/security/vulnerability-reporting/)をご利用ください"  # 143
        ),
        customer_controls=(
            BOILERPLATE  # 145–149
            + "\n"
            "インフラストラクチャ保護: Amazon Virtual Private Cloud (Amazon"  # 151
            " "
            "VPC) を使用して、お客様が定義した仮想ネットワーク内で AWS リ"  # 153
            "ソースを起動できます。Amazon"  # 155
            " "
            "CloudFront は、DDoS を緩和する AWS Shield に統合されたビュー"  # 157
            "ワーに対して、データ、動画、アプリケーション、API を安全に提供す"  # 159
            "る、グローバルコンテンツ配信ネットワークです。AWS WAF は、ウェ"  # 161
            "ブの一般的な脆弱性からウェブアプリケーションを保護するために役立"  # 163
            "つ、Amazon CloudFront または Application Load"  # 165
            " "
            "Balancer にデプロイされたウェブアプリケーションファイアウォールで"  # 167
            "す。"  # 169
        ),
        references=("アマゾン ウェブ サービス : セ" "キュリティプロセスの概要",),  # 171–173
        urls=("http://aws.amazon.com/security/vulnerability-reporting/",),  # in the AWS text, line 143
        page=2, same_as=None, line_start=117, line_end=173,
    ),
    # lines 175–231; line 232 is the next page's column header
    "実15": dict(
        id="実15", series="実務基準", number=15, aws_role="◯", customer_role="◯",
        aws_status=(
            "・AWS では、インバウンドとアウトバウンドの通信およびネットワークトラフィックをより包括的に監視することを考え、限られた数のクラウドへのアクセスポイント"  # 175
            "を戦略的に設置しました。このようなお客様のアクセスポイントは API エンドポイントと呼ばれ、安全な HTTP アクセス(HTTPS)を許可します。これにより、ご利用"  # 177
            "のストレージまたは AWS 内のコンピューティングインスタンスとの安全な通信セッションを確立できます。FIPS 暗号要件への準拠を必要とするお客様をサポートする"  # 179
            "ために、AWS GovCloud(米国)内の SSL 終端ロードバランサーは、FIPS 140-2 に準拠しています。"  # 181
            "\n"
            "さらに、AWS は、インターネットサービスプロバイダ(ISP)とのインターフェイス通信を管理するためのネットワークデバイスを実装しました。AWS ネットワークの"  # 183
            "インターネット側のそれぞれの境界では、複数の通信サービスへの重複する接続を採用しています。これらの接続にはそれぞれ、専用ネットワークデバイスがあります。"  # 185
            "\n"
            '追加情報については、"アマゾン ウェブ サービス: セキュリティプロセスの概要"を参照してください。'  # 187
        ),
        customer_controls=(
            BOILERPLATE  # 189–193
            + "\n"
            "お客様はAmazon VPCを使用することにより、アマゾン ウェブ サービ"  # 195
            "ス (AWS) クラウド内で論理的に分離したセクションをプロビジョニン"  # 197
            "グし、お客様が定義する仮想ネットワークで AWS リソースを起動でき"  # 199
            "ます。また、VPC 内のセキュリティグループにより、各 Amazon EC2"  # 201
            "インスタンスにおける着信および発信両方のネットワークトラフィック"  # 203
            "を指定することができます。明示的に許可されていないトラフィックは"  # 205
            "自動的に拒否されます。"  # 207
            "\n"
            "セキュリティグループに加えて、各サブネットに出入りするネットワー"  # 209
            "クトラフィックは、ネットワークアクセスコントロールリスト (ACL) を"  # 211
            "使用して許可または拒否することができます。"  # 213
            "\n"
            "AWS PrivateLink を使用して、VPC と AWS のサービスをセキュアでス"  # 215
            "ケーラブルな方法で接続できます。AWS PrivateLink のトラフィックは"  # 217
            "インターネットを経由しないため、ブルートフォース攻撃や DDoS (分"  # 219
            "散型サービス拒否) 攻撃の脅威に晒される危険を軽減できます。プライ"  # 221
            "ベート IP 接続とセキュリティグループを使用することで、サービスは"  # 223
            "自社のプライベートネットワークで直接ホストしているように機能しま"  # 225
            "す。"  # 227
        ),
        references=("アマゾン ウェブ サービス : セ" "キュリティプロセスの概要",),  # 229–231
        urls=(),
        page=2, same_as=None, line_start=175, line_end=231,
    ),
    # lines 516–544
    "実26": dict(
        id="実26", series="実務基準", number=26, aws_role="◯", customer_role="◯",
        aws_status=(
            "AWSではISO/IEC 27001およびPCI DSSに則り、AWSリソースへの論理的なアクセスのために必要なパスワードポリシーを定めています。パスワードは複雑である必要"  # 516
            "があり、90 日おきに変更されます。"  # 518
            "\n"
            "AWS環境におけるパスワード要件の詳細については、PCI DSS レポート 8.2 および SOC2 タイプ2レポートを参照ください。"  # 520
        ),
        customer_controls=(
            BOILERPLATE  # 522–526
            + "\n"
            "お客様はAWS Identity and access Management(IAM) を使用して、"  # 528
            "お客様の AWS リソースへの個人またはグループによるアクセスを安全"  # 530
            "にコントロールすることができます。AWS IAMでは、パスワードの最小"  # 532
            "長を定義したり、数字を 1 つ以上含めるようにするなど、強力なパス"  # 534
            "ワードを要求できます。自動パスワード失効の実施、以前に使用したパ"  # 536
            "スワードの再利用禁止、次回 AWS サインイン時のパスワードリセット"  # 538
            "の要求も設定できます"  # 540 (no 。 in the source)
        ),
        references=("PCI DSS 8.2.3", "PCI DSS 8.2.4"),  # 542, 544
        urls=(),
        page=5, same_as=None, line_start=516, line_end=544,
    ),
    # lines 1176–1216: "- アマゾン…" on line 1200 is the empty customer cell + first reference
    "実49": dict(
        id="実49", series="実務基準", number=49, aws_role="◯", customer_role="-",
        aws_status=(
            "・AWSはISO/IEC 27001 に準拠して、AWS の担当者が AWS 専有インベントリ管理ツールを使用して、AWS ハードウェアの資産に所有者を割り当て、追跡および監"  # 1176
            "視を行っています。AWS の調達およびサプライチェーンチームは、すべての AWS サプライヤとの関係を維持しています。"  # 1178
            "\n"
            "追加の詳細については、ISO/IEC 27001の附属書 A. 11を参照してください。AWS は ISO/IEC 27001 への準拠の認定を受けています。これらの認定は独立した第三者"  # 1180
            "監査人によって行われています。"  # 1182
            "\n"
            "・AWS のデータセンターは、外部からはそれとはわからないようになっています。ビデオ監視カメラ、最新鋭の侵入検出システム、その他エレクトロニクスを使った手"  # 1184
            "段を用いて、専門のセキュリティスタッフが、建物の入口とその周辺両方において、物理的アクセスを厳密に管理しています。権限を付与されたスタッフが 2 要素認証"  # 1186
            "を最低 2 回用いて、データセンターのフロアにアクセスします。すべての訪問者と契約業者は身分証明書を提示して署名後に入場を許可され、権限を有するスタッフが"  # 1188
            "常に付き添いを行います。"  # 1190
            "\n"
            "・AWS は、権限を持つ担当者のみにデータセンターへの物理的なアクセスを許可しています。データセンターへのアクセスを必要とするすべての担当者は、まずアクセ"  # 1192
            "スを申請し、業務上の正当性を詳しく説明する必要があります。これらの申請は最少権限の原則に基づき許可されますが、個人がアクセスを必要とするデータセンターの"  # 1194
            "レイヤーを指定する必要があり、アクセスの期限が設定されます。申請は権限を持つ人物のみが審査して承認し、請求した期限が過ぎた後は、アクセスが取り消されま"  # 1196
            "す。入場を許可された担当者は、その権限で指定されたエリアのみに入場が制限されます。"  # 1198
        ),
        customer_controls="",
        references=(
            "アマゾン ウェブ サービス:リスク" "とコンプライアンス",  # 1200–1202
            SECURITY_PROCESSES,  # 1204–1206
            "AWS Webサイト:AWSのコント" "ロール - セキュアな設定",  # 1208–1210
        ),
        urls=(CONTROLS_URL,),  # 1214–1216
        page=10, same_as=None, line_start=1176, line_end=1216,
    ),
    # lines 1250–1298: English lines wrapped short (1262 "inventory", 1266 "according to")
    "実51": dict(
        id="実51", series="実務基準", number=51, aws_role="◯", customer_role="-",
        aws_status=(
            "・AWS は電気および機械に関連する設備をモニタリングし、予防的なメンテナンスを実施して、AWS データセンター内のシステムの継続的な運用性を維持していま"  # 1250
            "す。機器のメンテナンス手順は資格を持っている担当者が実行し、文書化されたメンテナンススケジュールに従って完了されます。"  # 1252
            "\n"
            "・AWS では、定期的な保守やシステムのパッチ適用を実行するために、システムをオフラインにする必要がありません。通常、AWS の保守およびシステムのパッチ適"  # 1254
            "用はお客様に影響がありません。"  # 1256
            "\n"
            "インスタンスの保守自体は、お客様が統制します。"  # 1258
            "\n"
            "・In order to ensure maintenance procedures are properly executed, AWS assets are assigned an owner, tracked and monitored with AWS proprietary"  # 1260
            " "
            "inventory"  # 1262
            " "
            "management tools. AWS asset owner procedures are carried out by method of utilizing a proprietary tool with specified checks that must be completed"  # 1264
            " "
            "according to"  # 1266
            " "
            "the documented maintenance schedule."  # 1268
            "\n"
            "Third party auditors test AWS equipment maintenance controls by validating that the asset owner is documented and that the condition of the assets are"  # 1270
            " "
            "visually inspected according to the documented maintenance policy."  # 1272
            "\n"
            "(参考訳)保守作業が適切に実施されていることを検証するために、AWS専用インベントリ管理ツールを使用して、AWSのアセットに所有者を割り当て、追跡および監"  # 1274
            "視を行っています。文書化された保守スケジュールに沿って検証が実施できるように、専用ツールを使ってAWSアセット所有者の作業を管理しています。独立した監査"  # 1276
            "人はAWSの機器の保守に対する統制を検証しています。この検証ではアセットに所有者が割り当てられ、文書化された保守作業のポリシーに従ってアセットの状態が目"  # 1278
            "視で検証されていることをチェックします。"  # 1280
        ),
        customer_controls="",  # "- " on line 1282
        references=(
            "AWS Webサイト - コントロール",  # 1282 ("AWS Webサイト  - コントロール", spaces collapsed)
            "アマゾン ウェブ サービス :リスク" "とコンプライアンス",  # 1288–1290
            "AWS CSA Consensus" " " "Assessments Initiative" " " "Questionnaire (CAIQ) Feburary," " " "2020",  # 1292–1298
        ),
        urls=(CONTROLS_URL,),  # 1284–1286
        page=10, same_as=None, line_start=1250, line_end=1298,
    ),
    # lines 1377–1407: the AWS column ends in short English lines (1391, 1393) right
    # before "- AWS Webサイト…", the empty customer cell sharing a line with a reference
    "実54": dict(
        id="実54", series="実務基準", number=54, aws_role="◯", customer_role="-",
        aws_status=(
            "AWS は、AWS インフラストラクチャ、データセンター、およびサービスを対象とした Information Security Management System (ISMS) の ISO/IEC 27001 認証"  # 1377
            "を取得しています。"  # 1379
            "\n"
            "AWS は電気および機械に関連する設備をモニタリングし、予防的なメンテナンスを実施して、AWS データセンター内のシステムの継続的な運用性を維持しています。"  # 1381
            "\n"
            "機器のメンテナンス手順は資格を持っている担当者が実行し、文書化されたメンテナンススケジュールに従って完了されます。"  # 1383
            "\n"
            "また、問題の速やかな特定を可能にするため、電気的、機械的なシステムおよび設備をモニタリングしています。これは継続的な監査ツールと、建物管理および電気的な"  # 1385
            "モニタリングシステムを通じて提供される情報を利用して行われます。予防的メンテナンスが実行され、設備の運用に関しての継続性が保たれています。"  # 1387
            "\n"
            "データセンター環境の物理的な管理方法については、SOC1 Type2 reportの以下にも記載しております。"  # 1389
            "\n"
            "E. Physical Security and Environmental Protection"  # 1391
            "\n"
            "・Environment Management"  # 1393
        ),
        customer_controls="",
        references=(
            "AWS Webサイト:AWSのコント" "ロール",  # 1395–1397
            "アマゾン ウェブ サービス: リスク" "とコンプライアンス ホワイトペー" "パー",  # 1403–1407
        ),
        urls=(CONTROLS_URL,),  # 1399–1401
        page=11, same_as=None, line_start=1377, line_end=1407,
    ),
    # lines 1430–1460, then page 12's footer and page 13's furniture (1462–1481),
    # then the rest of the AWS column on page 13 (1483–1491)
    "実55": dict(
        id="実55", series="実務基準", number=55, aws_role="◯", customer_role="-",
        aws_status=(
            "AWS は、AWS インフラストラクチャ、データセンター、およびサービスを対象とした Information Security Management System (ISMS) の ISO/IEC 27001 認証"  # 1430
            "を取得しています。"  # 1432
            "\n"
            "Amazonのデータセンターは最新式で、革新的で建築的かつ工学的アプローチを採用しています。Amazon は大規模データセンターの設計、構築、運用において、長年"  # 1434
            "の経験を有しています。この経験は、AWS プラットフォームとインフラストラクチャに活かされています。"  # 1436
            "\n"
            "データセンター設備は問題が速やかに特定されるように、電気、機械、ライフサポートシステムおよび設備を監視しています。予防的メンテナンスが実行され、設備を継"  # 1438
            "続的な運用性が保たれています。"  # 1440
            "\n"
            "火災検出と鎮火"  # 1442
            "\n"
            "自動火災検出および鎮火装置が取り付けられ、リスクを軽減しています。この火災検出システムは、全データセンター環境、機械的及び電気的インフラストラクチャース"  # 1444
            "ペース、冷却室および発電機設備室において、煙検出センサーを使用しています。これらのエリアは、充水型、二重連結予作動式、またはガス式スプリンクラーシステム"  # 1446
            "によって守られています。"  # 1448
            "\n"
            "電力"  # 1450
            "\n"
            "データセンターの電力システムは、完全に冗長性をもち、運用に影響を与えることなく管理が可能となっています。1日24時間体制で、年中無休で稼動しています。施"  # 1452 (１日)
            "設内で重要かつ不可欠な負荷に対応するために、電力障害時には無停電電源装置(UPS)がパックアップ電力を供給しています。データセンターは、発電機を使用して施"  # 1454
            "設全体のバックアップ電力を供給しています。"  # 1456
            "\n"
            "空調と温度"  # 1483
            "\n"
            "サーバーその他のハードウェアの運用温度を一定に保つために、空調制御が必要です。これによって過熱を防ぎ、サーバー停止の可能性を減らすことができます。データ"  # 1485
            "センターは、大気の状態を最適なレベルに保つように設定されています。作業員とシステムが、温度と湿度を適切なレベルになるよう監視してコントロールしています。"  # 1487
            "\n"
            "物理的な環境保護の統制に対する監査レポートとして、SOC1 Type2 reportの以下にも記載しております。"  # 1489
            "\n"
            "・Control Objective 5: Physical Security and Environmental Protection No7~No12"  # 1491
        ),
        customer_controls="",
        references=("アマゾン ウェブ サービス:セキュ" "リティプロセスの概要",),  # 1458–1460 (double space collapsed)
        urls=(),
        page=12, same_as=None, line_start=1430, line_end=1491,
    ),
    # lines 2017–2121: AWS → customer → references → AWS again ([可用性], 2063–2085),
    # page 20's furniture (2086–2101), more AWS (2103–2121)
    "実73": dict(
        id="実73", series="実務基準", number=73, aws_role="◯", customer_role="◯",
        aws_status=(
            "[BCP(Business Continuity Plan) ; 事業継続計画 ]"  # 2017
            "\n"
            "AWS の事業継続計画は、環境に起因するサービス障害の回避および軽減措置について記載されています。それには、イベントが起こる前、イベントの最中、およびイベ"  # 2019
            "ント後の詳しいステップを定めるものです。事業継続計画は、さまざまなシナリオのシミュレーションを含むテストによってサポートされています。テスト中およびテス"  # 2021
            "ト後は、継続的な改善を目的として、AWS がチームとプロセスの対応、是正処置、得られた教訓を文書により記録しています。"  # 2023
            "\n"
            "[パンデミックへの対応]"  # 2025
            "\n"
            "AWS は、感染症の爆発的な流行の脅威に対して迅速に対応するための準備として、パンデミック対応ポリシーと手順を災害復旧計画に組み込んでいます。関連したリス"  # 2027
            "クに関する軽減のためのストラテジーには、重要なプロセスをリージョン外のリソースに移動するために、どのようにスタッフを配置するかという代替モデルと、重要な"  # 2029
            "ビジネス業務をサポートするための危機管理の発動計画が含まれます。パンデミック計画は、国際的な健康関連機関や規制に従っていますが、国際的な関連機関との連絡"  # 2031
            "窓口等も含まれています。"  # 2033
            "\n"
            "[事業継続性管理]"  # 2035
            "\n"
            "Amazon のインフラストラクチャは高いレベルの可用性を備え、回復機能を持つ IT アーキテクチャを配備する機能を顧客に提供します。AWS のシステムは、お客様へ"  # 2037
            "の影響を最小限に抑えながらシステムまたはハードウェア障害に耐えられるように設計されています。また、AWS におけるデータセンターの事業の継続性は、Amazon"  # 2039
            " "
            "Infrastructure Group の指示に従って管理されます。"  # 2041
            "\n"
            "[可用性]"  # 2063
            "\n"
            "世界各地に設置されているデータセンターは、所在地によりリージョンに分けられています。すべてのデータセンターはオンラインでお客様にサービスを提供しており、"  # 2065
            "「コールド」状態のデータセンターは存在しません。障害時には、自動プロセスにより、顧客データが影響を受けるエリアから移動されます。重要なアプリケーションは"  # 2067
            "N+1 原則でデプロイされます。そのためデータセンターの障害時でも、トラフィックが残りのサイトに負荷を分散させるのに十分な能力が存在することになります。"  # 2069
            "\n"
            "AWS を使用すると、各リージョン内の複数のアベイラビリティーゾーンだけでなく、複数の地理上のリージョン内に、柔軟にインスタンスを配置してデータを保管でき"  # 2071
            "ます。"  # 2073
            "\n"
            "各アベイラビリティーゾーンは、障害が発生しても他のゾーンに影響を与えないように設計されています。つまり、アベイラビリティゾーンは、代表的な都市のリージョ"  # 2075
            "ン内で物理的に区切られており、低リスクの氾濫原にあります(具体的な洪水帯の分類はリージョンによって異なります)。個別の無停電電源装置(UPS)やオンサイト"  # 2077
            "のバックアップ生成施設に加え、シングルポイントの障害の可能性を減らすために、別々の電力供給施設から異なる配管網を経由して、個別に電力供給を行っています。"  # 2079
            "\n"
            "アベイラビリティゾーンはすべて、複数の Tier-1 トランジットプロバイダに重複して接続しています。AWS の使用量は、複数のリージョンやアベイラビリティーゾー"  # 2081
            "ンを利用できるように設計することをお勧めします。複数のアベイラビリティゾーンにアプリケーションを配置すると、自然災害やシステム障害を含むほとんどの障害が"  # 2083
            "発生したときに、回復力を持った状態を保つことができます。"  # 2085
            "\n"
            "[インシデントへの対応]"  # 2103
            "\n"
            "Amazon のインシデント管理チームは、業界標準の診断手順を採用しており、事業に影響を与えるイベント時に解決へと導きます。作業員スタッフが、24 時間 365 日"  # 2105
            "体制でインシデントを検出し、影響と解決方法を管理します。"  # 2107
            "\n"
            "[役員による全社的検査]"  # 2109
            "\n"
            "Amazon の内部監査グループは、最近になって AWS サービスの復元プランを検査しました。このプランは、上級役員管理チームと取締役の監査委員会のメンバーに"  # 2111
            "よっても定期的に検査されています。"  # 2113
            "\n"
            "[コミュニケーション]"  # 2115
            "\n"
            "AWSは、様々な方法でグローバルレベルの内部コミュニケーションを実施することで、従業員が各自の役割と責任を理解することを手助けし、重要なイベントについて"  # 2117
            "適時伝達しています。これらの方法には、新入社員向けのオリエンテーションとトレーニングプログラム、業績その他についてアップデートを行う定例のマネジメント会"  # 2119
            "議、ビデオ会議、電子メールメッセージ、Amazon イントラネットでの情報の投稿などの電子的手段があります。"  # 2121
        ),
        customer_controls=BOILERPLATE,  # 2043–2047
        references=(
            "AWS Webサイト:AWS のコント" "ロール - 物理アクセスビジネスの継" "続性と災害復旧",  # 2049–2053
            SECURITY_PROCESSES,  # 2059–2061
        ),
        urls=(CONTROLS_URL,),  # 2055–2057
        page=19, same_as=None, line_start=2017, line_end=2121,
    ),
    # lines 2427–2449: "(実87と同様)" and the first customer line share the header line
    "実88": dict(
        id="実88", series="実務基準", number=88, aws_role="◯", customer_role="◯",
        aws_status="(実87と同様)",
        customer_controls=(
            BOILERPLATE  # 2427–2431
            + "\n"
            "クラウド環境においてはハードウェアの冗長化のみならず、ソフトウェ"  # 2433
            "アによるサービスの冗長化構成も高可用性を実現するために重要な要素"  # 2435
            "となります。"  # 2437
            "\n"
            "AWS は、堅牢な継続性計画を実装する機能をお客様に提供していま"  # 2439
            "す。たとえば、頻繁なサーバーインスタンスバックアップの利用、デー"  # 2441
            "タの冗長レプリケーション、マルチリージョン/アベイラビリティーゾー"  # 2443
            "ンのデプロイアーキテクチャなどです。"  # 2445
        ),
        references=(SECURITY_PROCESSES,),  # 2447–2449
        urls=(),
        page=22, same_as="実87", line_start=2427, line_end=2449,
    ),
    # lines 3224–3230; 3231–3235 is the audit page's three-line disclaimer
    "実148": dict(
        id="実148", series="実務基準", number=148, aws_role="-", customer_role="◯",
        aws_status="",
        customer_controls=BOILERPLATE,  # 3224–3228
        references=(),  # "-" on line 3230
        urls=(),
        page=28, same_as=None, line_start=3224, line_end=3230,
    ),
    # lines 3243–3263: bare audit row "1 - 〇 …". The audit page has no column header
    # and only two cells per row (監2 is "2 - 〇 - -"), lines ~95 full-width wide: one
    # text cell and the reference cell ("-", line 3263). The text is AWS's information
    # for the customer's audit, so it is read as the AWS column (customer_controls "");
    # the source cannot prove which column it is.
    "監1": dict(
        id="監1", series="監査基準", number=1, aws_role="-", customer_role="◯",
        aws_status=(
            AUDIT_INTRO  # 3243
            + "\n"
            + AUDIT_TRADITIONAL  # 3245–3253
            + "\n"
            "AWS にデプロイされている部分では、AWS が該当する物理コンポーネントを統制します。その他の部分は、接続ポイントや送信の統制を含め、お客様がすべてを所有し、統制することになります。AWS で定め"  # 3255
            "ている統制の内容と、その統制がどのように効果的に運用されているかについて、AWS では SOC1 Type II レポートを発行し、EC2、S3、VPC などに関連し定義された統制、ならびに詳細な物理セキュリティお"  # 3257
            "よび環境に関する統制を公表しています。これらの統制は、ほとんどのお客様のニーズに見合うように、ハイレベルで定義されています。AWS と機密保持契約を結んでいる AWS のお客様は、SOC1 Type II レ"  # 3259
            "ポートを要求できます。"  # 3261
        ),
        customer_controls="",
        references=(),  # "-" on line 3263
        urls=(),
        page=29, same_as=None, line_start=3243, line_end=3263,
    ),
    # lines 3291–3317; the change history starts at " ■ 2020年9月" on line 3318
    "監5": dict(
        id="監5", series="監査基準", number=5, aws_role="-", customer_role="◯",
        aws_status=(
            AUDIT_INTRO  # 3291
            + "\n"
            "AWS は、ホワイトペーパー、レポート、認定、その他サードパーティーによる証明を通じて、当社の IT 統制環境に関する幅広い情報をお客様にご提供しています。本文書は、お客様が使用する AWS サービスに"  # 3293
            "関連した統制、およびそれらの統制がどのように検証されているかをお客様にご理解いたただくことをお手伝いするためのものです。この情報はまた、お客様の拡張された IT 環境内の統制が効果的に機能してい"  # 3295
            "るかどうかを明らかにし、検証するのにも有用です。"  # 3297
            "\n"
            + AUDIT_TRADITIONAL  # 3299–3307
            + "\n"
            "AWS のデータセンターは複数のお客様をホストしており、幅広いお客様が第三者による物理的なアクセスの対象となるため、お客様によるデータセンター訪問は許可していません。このようなお客様のニーズを"  # 3309
            "満たすために、SOC 1 Type II レポートの一環として、独立し、資格を持つ監査人が統制の有無と運用を検証しています。この広く受け入れられているサードパーティーによる検証によって、お客様は実行されて"  # 3311
            "いる統制の効果について独立した観点を得ることができます。AWS と機密保持契約を結んでいる AWS のお客様は、SOC 1 Type II レポートのコピーを要求できます。データセンターの物理的なセキュリティの"  # 3313
            "個別の確認も、ISO/IEC 27001 監査、PCI 評価、ITAR 監査、FedRAMP テストプログラムの一部となっています。"  # 3315
        ),
        customer_controls="",
        references=(),  # "-" on line 3317
        urls=(),
        page=29, same_as=None, line_start=3291, line_end=3317,
    ),
}

# Pages 1–3 lost their legend and footer in extraction (lines 1–461 carry only page 4's
# footer); their first lines (117 " 実14", 232, 361 " 実21") are indented and follow the
# previous line with no blank line. So 実1–実13 are on page 1, 実14–実15 on page 2,
# 実16–実20 on page 3 and 実21–実24 on page 4.


@pytest.mark.parametrize("cid", list(GOLDEN))
def test_golden_record(doc, cid):
    expected = dict(GOLDEN[cid])
    got = doc.get(cid).to_dict()
    got["references"], got["urls"] = tuple(got["references"]), tuple(got["urls"])
    for field in expected:  # one field at a time, for a readable failure
        assert got[field] == expected[field], f"{cid}.{field}"
    assert got == expected


@pytest.mark.parametrize("cid", list(GOLDEN))
def test_golden_page(doc, cid):
    assert doc.get(cid).page == GOLDEN[cid]["page"]


@pytest.mark.parametrize("cid, page", [
    ("実1", 1), ("実13", 1), ("実14", 2), ("実15", 2), ("実16", 3), ("実20", 3), ("実21", 4), ("実24", 4), ("実25", 5), ("実56", 14), ("実60", 16), ("実70", 17), ("実148", 28),
])
def test_pages_around_known_footers(doc, cid, page):
    # footers: 4 (line 461), 5, …, 13 (line 1493), 16 (line 1816); later pages count legends
    assert doc.get(cid).page == page


def test_page_numbers_never_decrease(doc):
    pages = [c.page for c in doc.criteria]
    assert all(isinstance(p, int) for p in pages)
    assert pages == sorted(pages)


def test_line_ranges_are_ordered_and_disjoint(doc):
    previous_end = 0
    for c in doc.criteria:
        assert previous_end < c.line_start <= c.line_end, c.id
        previous_end = c.line_end


def test_same_as_points_at_the_referenced_criterion(doc):
    c88 = doc.get("実88")
    assert c88.same_as == "実87"
    assert c88.aws_status == "(実87と同様)"
    assert doc.text_of(c88) is doc.get("実87")
    assert doc.text_of(c88).aws_status.startswith("各データセンター間は物理的に離れており")
    assert doc.text_of(doc.get("実87")) is doc.get("実87")
    assert [c.id for c in doc.criteria if c.same_as] == ["実88"]


# ---------------------------------------------------------------- invariants over all records

def test_aws_dash_rows_have_no_aws_text(doc):
    # every "実N - ◯" row has "- " (an empty AWS cell) on its header line
    offenders = {c.id for c in doc.criteria if c.series == "実務基準" and c.aws_role == "-" and c.aws_status}
    assert offenders == set()


def test_audit_page_disclaimer_does_not_leak_into_the_last_row(doc):
    # the audit page's disclaimer wraps differently from the others (lines 3231–3235)
    assert doc.get("実148").aws_status == ""
    assert doc.get("実148").line_end == 3230


# lines the PDF broke early, mid-word: 「決定さ\nれて」 (実37, lines 825–827),
# 「アラームが\n設定されています」 (実47), 「アプリケー\nション」 (実103), 「Amazon DynamoDB\nテーブル」
@pytest.mark.parametrize("cid, field, phrase", [
    ("実37", "aws_status", "根本的な原因が決定されて適切な措置が取られます。"),
    ("実47", "aws_status", "通知されるよう、アラームが設定されています。"),
    ("実46", "aws_status", "通知されるよう、アラームが設定されています。"),  # same sentence, wrapped at full width
    ("実103", "aws_status", "ポートスキャニングアクティビティ、アプリケーションの利用状況"),
    ("実101", "customer_controls", "Amazon DynamoDBテーブル"),
    ("実102", "customer_controls", "Amazon DynamoDBテーブル"),
    ("実103", "customer_controls", "Amazon DynamoDBテーブル"),
])
def test_words_broken_by_an_early_wrap_are_rejoined(doc, cid, field, phrase):
    assert phrase in getattr(doc.get(cid), field)


# line 1871 ends with a full-width 「（」 that NFKC makes ASCII; no space may follow it
@pytest.mark.parametrize("cid", ["実70", "実71", "実72"])
def test_no_space_inserted_after_an_opening_parenthesis(doc, cid):
    assert doc.get(cid).customer_controls.endswith(
        "AWSサポートの詳細については以下のURLをご参照ください。("  # 1871
        "https://aws.amazon.com/jp/premiumsupport/ )")  # 1873


def test_customer_dash_rows_have_no_customer_text(doc):
    assert [c.id for c in doc.criteria if c.customer_role == "-" and c.customer_controls] == []


def test_practice_rows_with_customer_role_open_with_the_boilerplate(doc):
    for c in doc.criteria:
        if c.series == "実務基準" and c.customer_role == "◯":
            assert c.customer_controls.startswith(BOILERPLATE), c.id


def test_aws_dash_practice_rows_are_boilerplate_only(doc):
    # all 95 "- ◯" practice rows read "- <boilerplate>" then "-" (no references)
    rows = [c for c in doc.criteria if c.series == "実務基準" and c.aws_role == "-"]
    assert len(rows) == 95
    for c in rows:
        assert (c.customer_controls, c.references, c.urls) == (BOILERPLATE, (), ()), c.id


def _fields(c) -> list[tuple[str, str]]:
    out = [("aws_status", c.aws_status), ("customer_controls", c.customer_controls)]
    out += [("references", r) for r in c.references] + [("urls", u) for u in c.urls]
    return out


FURNITURE = [
    # legend
    "「対応の主体」凡例", "凡例", "主体として対応する", "必要に応じて情報を提供する",
    # disclaimer (本文書は alone is legitimate text: 監5 says 「本文書は、お客様が使用する…」)
    "注意: 本文書は", "注意:", "「現状のまま」", "明示また は黙示を問わず",
    "いずれの AWS 製品また", "本文書によって変更されることもありません",
    "AWS 契約によって規定されています",
    # column headers
    "補足情報基準番号", "AWSの対応状況 お客様が統制すべき内容", "お客様が統制すべき内容", "AWSの対応状況(旧)",
    # footer
    "© 2022", "©", "All rights reserved", "Affiliates",
]
@pytest.mark.parametrize("marker", FURNITURE)
def test_no_page_furniture_in_any_field(doc, marker):
    hits = [(c.id, f) for c in doc.criteria for f, v in _fields(c) if marker in v]
    assert hits == []


def test_no_unnormalised_text(doc):
    for c in doc.criteria:
        for f, v in _fields(c):
            assert "\u2f74" not in v, (c.id, f)  # ⽴ KANGXI RADICAL STAND
            assert unicodedata.normalize("NFKC", v) == v, (c.id, f)
            assert "\u3000" not in v, (c.id, f)
    for r in doc.revisions:
        assert "\u2f74" not in r.text
    assert "立" in doc.get("実15").aws_status  # 確⽴ → 確立


def test_every_field_is_stripped_and_has_no_blank_paragraphs(doc):
    for c in doc.criteria:
        for f, v in _fields(c):
            if v:
                assert v == v.strip(), (c.id, f)
                assert "" not in v.split("\n"), (c.id, f)
                assert v != "-", (c.id, f)  # "-" is an empty cell, never text


@pytest.mark.parametrize("marker", ["準拠法", "従量制料金", "新設", "■", "東京地方裁判所", "200 種類", "変更履歴",
                                    "実21と整合させるため", "-----"])
def test_no_change_history_in_criteria(doc, marker):
    assert marker not in doc.get("監5").aws_status + doc.get("監5").customer_controls
    hits = [(c.id, f) for c in doc.criteria for f, v in _fields(c) if marker in v]
    assert hits == []


def test_audit_rows_end_before_the_change_history(doc):
    assert doc.get("監5").line_end == 3317
    assert min(r.line_start for r in doc.revisions) > doc.get("監5").line_end
    assert doc.get("監2").aws_status == doc.get("監2").customer_controls == ""  # "2 - 〇 - -"


# ---------------------------------------------------------------- change history


def test_change_history_entries(doc):
    assert [r.ids for r in doc.revisions] == [
        ("統20",), ("統20", "統21", "統24"), ("統27",), ("実20",),
        ("実145",), ("実146",), ("実147",), ("実148",),
    ]


def test_revision_tou20_pricing(doc):
    r = doc.revisions[0]
    assert r.ids == ("統20",)
    assert r.branches == ("3-(12)",)
    assert "160 種類" in r.old and "200 種類" not in r.old
    assert r.old.startswith("・AWS では 160 種類を超えるクラウドサービスについて従量制料金を適用しています。")  # 3322–3324
    assert r.old.endswith("解約料金はありません。")  # 3328–3330
    assert r.new == "AWS では 200 種類を超えるクラウドサービスについて従量制料金を適用しています。"  # 3334
    assert r.urls == ("https://aws.amazon.com/jp/pricing/", "https://aws.amazon.com/jp/pricing/")  # 3332, 3336
    assert (r.line_start, r.line_end) == (3322, 3336)


def test_revision_governing_law(doc):
    (r,) = [r for r in doc.revisions if set(r.ids) == {"統20", "統21", "統24"}]
    assert r.ids == ("統20", "統21", "統24")  # stacked in one cell, 3338–3342
    assert r.branches == ("3-(14)", "1, 2", "1, 2")  # 3344–3348
    assert "準拠法" in r.text and "東京地方裁判所" in r.text
    assert "第一審裁判所を東京地方裁判所に変更することができます。" in r.old  # 3366–3368
    assert r.new == ("・AWSのカスタマーアグリーメントにおいて、クラウドサービスの販売者がアマゾン ウェ"  # 3382
                     "ブ サービス ジャパン合同会社のアカウントについては「準拠法」を日本国法、「管轄裁判"  # 3384
                     "所」を東京地裁と定めています。")  # 3386
    assert r.urls == ("https://aws.amazon.com/jp/blogs/news/how-to-change-aws-ca-by-" "artifact/",)  # 3378–3380
    assert doc.revisions_for("統24") == [r]


def test_revision_jitsu20(doc):
    (r,) = doc.revisions_for("実20")
    assert r.note == "実21と整合させるため追加。また、対応の主体のAWSにも〇を追加。"  # 3397
    assert r.old == ""  # "- -" on 3395
    assert r.new.startswith("ウイルス対策および悪意のあるソフトウェア対策に関する AWS のプログラム")  # 3401
    assert r.new.endswith("第三者の独立監査人によって確認されます。")  # 3419
    # the text added to 実20 is 実20's AWS column today (the history's own wrap, at
    # 3405–3407 "AWS は|ISO/IEC", drops the space the row has on line 344)
    assert r.new.replace(" ", "") == doc.get("実20").aws_status.replace(" ", "")


@pytest.mark.parametrize("cid", ["統27", "実145", "実146", "実147", "実148"])
def test_new_criteria_marked_new(doc, cid):
    (r,) = doc.revisions_for(cid)
    assert r.note == "新設"
    assert (r.old, r.new, r.branches) == ("", "", ())


def test_editions(doc):
    assert [(e.date, e.description) for e in doc.editions] == [
        ("2020年9月", "第9版令和2年3月版の反映"),  # 3318, 3443
        ("2022年5月", "第9版令和3年12月版の反映、一部情報の更新"),  # 3320, 3445
    ]


def test_history_has_no_table_header(doc):
    for r in doc.revisions:
        assert "AWSの対応状況(旧)" not in r.text and "基準番号 枝番" not in r.text


# ---------------------------------------------------------------- criteria.jsonl


def test_checked_in_jsonl_is_current(doc, tmp_path):
    fresh = tmp_path / "criteria.jsonl"
    write_jsonl(doc, fresh)
    assert CRITERIA_JSONL.exists(), "corpus/criteria.jsonl is missing: run `kijun parse`"
    assert CRITERIA_JSONL.read_bytes() == fresh.read_bytes(), (
        "corpus/criteria.jsonl is out of date with the parser's output: run `kijun parse` and commit it")


def test_jsonl_round_trip(doc, tmp_path):
    path = tmp_path / "criteria.jsonl"
    write_jsonl(doc, path)
    back = read_jsonl(path)
    assert back.criteria == doc.criteria
    assert back.revisions == doc.revisions
    assert back.editions == doc.editions
    assert back.get("実26") == doc.get("実26")


def test_read_jsonl_rejects_garbage(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"kind": "criterion", "id": "実1"}\nnot json\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.jsonl:1.*kijun parse"):
        read_jsonl(path)


# ---------------------------------------------------------------- IDs


@pytest.mark.parametrize("raw, canonical", [
    ("実26", "実26"), ("実２６", "実26"), ("実 26", "実26"), (" 監3 ", "監3"), ("監　３", "監3"),
    ("foo", None), ("実", None), ("", None), ("26", None), ("実26a", None),
    ("実14-1", "実14-1"), ("実103－1", "実103-1"), ("実１４‐０１", "実14-1"), ("実 14−1", "実14-1"), ("実-26", "実26"),
    ("実14-", None), ("実14–16", None),
])
def test_normalize_id(raw, canonical):
    assert normalize_id(raw) == canonical


@pytest.mark.parametrize("text, ids", [
    ("実14-1と実103-1は第13版の基準", ["実14-1", "実103-1"]),  # sub-numbered IDs of newer editions
    ("実14-16", ["実14-16"]),  # a hyphen straight after the number is a sub-number, never a range
    ("実1–実148", ["実1", "実148"]),  # an en dash is a range: its two ends
    ("統20 3-(12)", ["統20"]),  # a change-history branch is not a sub-number
    ("対応策は実 4 と同じ", ["実4"]),
])
def test_ids_in_text_with_sub_numbers(text, ids):
    assert ids_in(text) == ids


def test_sub_numbered_ids_sort_after_their_base():
    assert sorted(["実15", "監1", "実14-1", "実14", "実2", "実14-2"], key=id_sort_key) == \
        ["実2", "実14", "実14-1", "実14-2", "実15", "監1"]


def test_a_sub_numbered_id_is_not_its_base_criterion(doc):
    assert "実14-1" not in doc and "実14" in doc
    with pytest.raises(UnknownCriterion, match="実14-1"):
        doc.get("実14-1")


@pytest.mark.parametrize("raw", ["実26", "実２６", "実 26"])
def test_get_accepts_user_spellings(doc, raw):
    assert doc.get(raw).id == "実26"
    assert raw in doc


def test_get_audit(doc):
    assert doc.get(" 監3 ").id == "監3"


def test_get_unknown_names_the_id_and_the_valid_range(doc):
    with pytest.raises(UnknownCriterion) as e:
        doc.get("実999")
    msg = str(e.value)
    assert "実999" in msg
    assert "実1–実148" in msg and "監1–監5" in msg
    assert "実999" not in doc


def test_get_malformed_says_what_ids_look_like(doc):
    with pytest.raises(UnknownCriterion) as e:
        doc.get("foo")
    assert "foo" in str(e.value) and "実26" in str(e.value)


# ---------------------------------------------------------------- bad input


def _join(lines: list[str]) -> str:
    return "".join(lines)


def test_missing_file(tmp_path):
    path = tmp_path / "nope.txt"
    with pytest.raises(CorpusFormatError) as e:
        parse_file(path)
    assert str(path) in str(e.value) and "no such file" in str(e.value)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_bytes(b"")
    with pytest.raises(CorpusFormatError, match="empty"):
        parse_file(path)
    with pytest.raises(CorpusFormatError, match="empty"):
        parse(" \n\n\u3000\n")


def test_non_utf8_file(tmp_path):
    path = tmp_path / "sjis.txt"
    path.write_bytes(SOURCE.read_text(encoding="utf-8")[:2000].encode("cp932", errors="replace"))
    with pytest.raises(CorpusFormatError) as e:
        parse_file(path)
    assert "UTF-8" in str(e.value) and "byte" in str(e.value) and str(path) in str(e.value)


def test_not_the_document():
    with pytest.raises(CorpusFormatError) as e:
        parse("hello\nworld\n")
    assert "実務基準" in str(e.value) and "FISC" in str(e.value)


def test_truncated_file(source_lines):
    text = _join(source_lines[: int(len(source_lines) * 0.4)])  # ends inside 実54
    with pytest.raises(CorpusFormatError) as e:
        parse(text)
    msg = str(e.value)
    assert "truncated" in msg and "line" in msg
    assert "監" in msg  # no audit criteria
    assert "strict=False" in msg  # says how to keep what parses


def test_truncated_file_lenient(source_lines):
    doc = parse(_join(source_lines[: int(len(source_lines) * 0.4)]), strict=False)
    assert [c.id for c in doc.criteria] == [f"実{n}" for n in range(1, 55)]
    assert doc.get("実26").references == ("PCI DSS 8.2.3", "PCI DSS 8.2.4")


def test_duplicated_criterion(source_lines):
    block = source_lines[515:545]  # 実26, lines 516–545
    assert block[0].startswith("実26 ")
    text = _join(source_lines[:545] + block + source_lines[545:])
    with pytest.raises(CorpusFormatError) as e:
        parse(text)
    msg = str(e.value)
    assert "実26" in msg and "twice" in msg
    assert "line 546" in msg and "line 516" in msg


def test_missing_criterion(source_lines):
    assert source_lines[545].startswith("実27 ") and source_lines[573].startswith("実28 ")
    text = _join(source_lines[:545] + source_lines[573:])  # drop 実27 (lines 546–573)
    with pytest.raises(CorpusFormatError) as e:
        parse(text)
    assert "missing 実27" in str(e.value)
    lenient = parse(text, strict=False)
    assert "実27" not in lenient and "実28" in lenient and len(lenient.criteria) == 152


def test_row_with_no_cells(source_lines):
    # a header line followed directly by the next row: garbled extraction
    text = _join(source_lines[:545] + ["実999 ◯ ◯\n", "\n"] + source_lines[545:])
    with pytest.raises(CorpusFormatError) as e:
        parse(text)
    assert "line 546" in str(e.value) and "実999" in str(e.value)


def test_slightly_different_edition_parses(source_lines):
    """An extra criterion 実149 and a new 枝番 entry in the history must not crash."""
    row = [ln.replace("実148", "実149") for ln in source_lines[3223:3230]]  # 3224–3230
    assert row[0].startswith("実149 - ◯ - ")
    # a new entry shaped like the 統20/統21/統24 one (3338–3348): stacked IDs, then one 枝番 line each
    history_entry = ["\n", "統30\n", "\n", "統31\n", "\n", "5-(2)\n", "\n", "1, 3\n", "\n",
                     "・AWS は新しい枝番の対応状況を記載しています。\n", "\n"]
    i_end = 3439  # after 実148's "- - -" (line 3439), before 変更履歴
    assert source_lines[i_end].strip() == "" and source_lines[i_end + 1].startswith("変更履歴")
    text = _join(source_lines[:3230] + row + source_lines[3230:i_end] + history_entry + source_lines[i_end:])
    doc = parse(text)
    assert len(doc.criteria) == 154
    c = doc.get("実149")
    assert (c.aws_role, c.customer_role) == ("-", "◯")
    assert c.customer_controls == BOILERPLATE
    assert doc.get("監5").line_end > c.line_end
    (r,) = doc.revisions_for("統30")
    assert r.ids == ("統30", "統31")
    assert r.branches == ("5-(2)", "1, 3")
    assert r.old == "・AWS は新しい枝番の対応状況を記載しています。"
    assert len(doc.revisions) == 9
    assert [e.date for e in doc.editions] == ["2020年9月", "2022年5月"]


def test_strict_false_keeps_what_parses_from_a_garbled_file(source_lines):
    duplicated = _join(source_lines[:545] + source_lines[515:545] + source_lines[545:])
    doc = parse(duplicated, strict=False)
    assert [c.id for c in doc.criteria].count("実26") == 2
    assert len(doc.criteria) == 154


def test_page_breaks_without_the_blank_line_pattern_do_not_invent_pages():
    """Without the extraction's blank lines, the missing-blank-line signal means nothing:
    no page may be numbered below 1 and pages still never decrease."""
    from corpus.parser import SOURCE, parse

    text = "\n".join(line for line in SOURCE.read_text(encoding="utf-8").splitlines() if line.strip())
    pages = [c.page for c in parse(text).criteria]
    assert all(p is None or p >= 1 for p in pages)
    known = [p for p in pages if p is not None]
    assert known == sorted(known)


def test_document_hash_is_computed_once_and_is_not_a_field(doc):
    import copy
    import pickle
    from dataclasses import fields, replace

    from corpus.records import Document, document_hash

    fresh = Document(doc.criteria, doc.revisions, doc.editions, doc.source_sha256)
    assert "content_hash" not in fresh.__dict__
    assert document_hash(fresh) == doc.content_hash and "content_hash" in fresh.__dict__
    assert fresh == doc and hash(fresh) == hash(doc) and repr(fresh) == repr(doc)
    assert "content_hash" not in {f.name for f in fields(Document)}
    assert pickle.loads(pickle.dumps(fresh)) == fresh and copy.copy(fresh) == fresh
    trimmed = replace(fresh, criteria=fresh.criteria[:-1])  # a new document gets its own hash
    assert document_hash(trimmed) != document_hash(fresh)


@pytest.mark.parametrize("spelling", ["◯", "〇", "○", "-"])
def test_every_role_spelling_is_read_alike_by_the_parser_and_the_filters(spelling):
    from corpus.parser import _AUDIT, _PRACTICE
    from corpus.vocabulary import INFO, PRIMARY, normalize_mark, parse_role, role_name

    mark = INFO if spelling == "-" else PRIMARY
    assert normalize_mark(spelling) == mark
    assert parse_role(f" {spelling} ") == role_name(mark)
    assert _PRACTICE.match(f"実26 {spelling} {spelling} 本文").group(3, 4) == (spelling, spelling)
    assert _AUDIT.match(f"3 - {spelling}").group(3) == spelling
    assert parse_role("Primary") == "primary" and parse_role("info") == "info" and parse_role("x") is None
