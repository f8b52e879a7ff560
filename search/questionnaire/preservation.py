"""What openpyxl cannot carry over from the user's workbook, named for that file.

What openpyxl 3.1.5 carries over (measured in tests/test_sheet.py): cell values and in-cell
rich text, styles, merged ranges, column widths, row heights, data validation, conditional
formatting, formulas, comments (notes), freeze panes, page setup, print titles, sheet order
and visibility, pivot tables, external links, and images and charts (images only with
Pillow installed). What it loses: text boxes and shapes, form controls (check boxes,
buttons), threaded comments, Excel's chart style presets, printer driver settings,
extensions it does not read (e.g. Excel 2010 drop-downs listing another sheet) and parts
it does not know. `loss_warnings` names each of them for the user's file, found by
comparing the package with what openpyxl loaded and wrote.
"""
from __future__ import annotations

import io
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from messages import Message

_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_NS_PKG = "http://schemas.openxmlformats.org/package/2006/relationships"

# Parts whose loss is reported per sheet, or that openpyxl renames or rebuilds.
_TYPES_REPORTED_ELSEWHERE = ("drawing+xml", "drawingml.chart+xml", "image/", "vmlDrawing", "threadedcomments",
                             "person+xml", "controlproperties", "activeX", "comments+xml", "calcChain",
                             "relationships+xml")
_TYPE_NAMES = {  # content type → what the user knows it as (a catalogue code; None: reported with another)
    "chartstyle+xml": "chart_styles",
    "chartcolorstyle+xml": None,  # reported with the chart styles
    "printerSettings": "printer_settings",
    "slicer": "slicers",
    "slicerCache": None,
    "timeline": "timelines",
    "timelineCache": None,
    "customXml": "custom_xml",
    "connections+xml": "data_connections",
    "queryTable+xml": "query_tables",
    "webextension": "office_addins",
    "rdrichvalue": "cell_pictures",
}


def package_inventory(data: bytes) -> dict[str, Any]:
    """Per sheet: pictures, charts, shapes, form controls and threaded comments; and every part's type."""
    import xml.etree.ElementTree as ET
    from zipfile import ZipFile

    z = ZipFile(io.BytesIO(data))
    names = set(z.namelist())

    def rels(part: str) -> list[tuple[str, str]]:
        folder, base = part.rsplit("/", 1) if "/" in part else ("", part)
        path = f"{folder}/_rels/{base}.rels" if folder else f"_rels/{base}.rels"
        if path not in names:
            return []
        out = []
        for rel in ET.fromstring(z.read(path)).iter(f"{{{_NS_PKG}}}Relationship"):
            target = rel.get("Target", "")
            if rel.get("TargetMode") == "External":
                continue
            full = target.lstrip("/") if target.startswith("/") else os.path.normpath(
                f"{folder}/{target}").replace(os.sep, "/")
            out.append((rel.get("Type", "").rsplit("/", 1)[-1], full))
        return out

    sheets: dict[str, Counter[str]] = {}
    try:
        book = ET.fromstring(z.read("xl/workbook.xml"))
        by_id = {}
        for kind_target in ET.fromstring(z.read("xl/_rels/workbook.xml.rels")).iter(f"{{{_NS_PKG}}}Relationship"):
            t = kind_target.get("Target", "")
            by_id[kind_target.get("Id")] = t.lstrip("/") if t.startswith("/") else f"xl/{t}"
        for s in book.iter(f"{{{_NS_MAIN}}}sheet"):
            part = by_id.get(s.get(f"{{{_NS_REL}}}id"), "")
            counts: Counter[str] = Counter()
            for kind, target in rels(part):
                if kind == "drawing" and target in names:
                    counts.update(_drawing_objects(ET.fromstring(z.read(target))))
                elif kind in ("ctrlProp", "control"):
                    counts["form control"] += 1
                elif kind == "threadedComment" and target in names:
                    root = ET.fromstring(z.read(target))
                    counts["threaded comment"] += sum(1 for e in root if e.tag.endswith("threadedComment"))
            sheets[s.get("name", "")] = counts
    except (KeyError, ET.ParseError):
        pass
    return {"sheets": sheets, "types": _part_types(z)}


def _drawing_objects(root: Any) -> Counter[str]:
    """What a drawing part holds, anchor by anchor (Excel wraps newer objects in mc:AlternateContent)."""
    counts: Counter[str] = Counter()
    for anchor in root:
        if anchor.tag.endswith("}AlternateContent"):
            choice = next(iter(anchor), None)
            if choice is not None:
                counts.update(_drawing_objects(choice))
            continue
        for child in anchor:
            tag = child.tag.rsplit("}", 1)[-1]
            if tag == "pic":
                counts["image"] += 1
            elif tag == "graphicFrame":
                is_chart = any(e.tag.endswith("}chart") for e in child.iter())
                counts["chart" if is_chart else "diagram or other object"] += 1
            elif tag in ("sp", "grpSp", "cxnSp"):
                # a form control's drawing twin is counted with the form controls
                if not any(e.tag.endswith("}compatExt") for e in child.iter()):
                    counts["text box or shape"] += 1
    return counts


def _part_types(z: Any) -> Counter[str]:
    """How many parts of each content type the package has."""
    import xml.etree.ElementTree as ET

    root = ET.fromstring(z.read("[Content_Types].xml"))
    defaults = {e.get("Extension", "").lower(): e.get("ContentType", "") for e in root
                if e.tag.endswith("Default")}
    overrides = {e.get("PartName", "").lstrip("/"): e.get("ContentType", "") for e in root
                 if e.tag.endswith("Override")}
    types: Counter[str] = Counter()
    for name in z.namelist():
        if name.endswith("/"):
            continue
        types[overrides.get(name) or defaults.get(name.rsplit(".", 1)[-1].lower(), name)] += 1
    return types



def loss_warnings(inventory: Mapping[str, Any], wb: Any, body: bytes, caught: Sequence[str]) -> list[Message]:
    from zipfile import ZipFile

    warns = []
    for name, counts in inventory["sheets"].items():
        ws = wb[name] if name in wb.sheetnames else None
        lost = Counter(counts)
        if ws is not None:
            lost["image"] -= len(getattr(ws, "_images", []))
            lost["chart"] -= len(getattr(ws, "_charts", []))
        items = [Message(kind, {"n": n}) for kind, n in lost.items() if n > 0]
        if items:
            warns.append(Message("objects_lost", {"sheet": name, "items": items}))
    before, after = inventory["types"], _part_types(ZipFile(io.BytesIO(body)))
    seen = set()
    for ctype, n in before.items():
        if n <= after.get(ctype, 0) or any(k in ctype for k in _TYPES_REPORTED_ELSEWHERE):
            continue
        key = next((k for k in _TYPE_NAMES if k in ctype), None)
        label = (Message(_TYPE_NAMES[key]) if _TYPE_NAMES[key] else None) if key \
            else Message("unknown_part", {"content_type": ctype})
        if label and label not in seen:
            seen.add(label)
            warns.append(Message("part_lost", {"label": label}))
    for message in dict.fromkeys(caught):
        if "DrawingML" not in message:
            warns.append(Message("openpyxl_warning", {"detail": message}))
    return warns

