"""Write the corpus of bad inputs in this folder (run from anywhere: ``python make_corpus.py``).

Each file is a small, realistic council export with one kind of fault (a few carry two). What
geosuff must say about each is in ``expected.csv`` (one line per expected message):

* ``loader``: placements / sites / candidates / postcodes;
* ``kind``: ``fatal`` (the loader raises a GeosuffError whose message contains ``message``),
  ``issue`` (an Issue with ``code`` - and ``row``/``severity`` when given - whose problem contains
  ``message``), or ``ok`` (no error, and ``message`` is a check described in the test);
* ``status``: for ``issue`` lines with a row, the status that row must end with.

All postcodes are real (Code-Point Open 2014 Rutland file, ONSPD Nov 2025). The files are
committed; this script documents how they were made and re-creates them byte for byte.
"""

from __future__ import annotations

import codecs
import gzip
import io
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

PL_HEADER = "CHILD,DOB,UASC,DECOM,PLACE,HOME_POST,PL_POST,URN"
PL_ROWS = [
    "C001,12/05/2012,0,01/06/2024,U4,LE15 6AA,LE15 9AE,",
    "C002,03/11/2009,0,15/01/2025,K2,LE15 9AF,LE13 0AA,SC123456",
    "C003,21/07/2015,0,10/10/2023,U6,PE9 4AA,PE9 3AX,",
    "C004,30/01/2008,1,02/02/2025,H5,LE15 0AQ,PE9 1AA,",
    "C005,14/09/2011,0,20/12/2024,U3,PE9 3AX,LE15 6AA,",
]
SITE_HEADER = "site_id,name,type,places,available_places,postcode,easting,northing"
SITE_ROWS = [
    "S1,Home A,childrens_home,4,1,,486000,308900",
    "S2,Foster cluster 1,foster_cluster,3,0,LE15 9AE,,",
    "S3,Supported flats,supported_accommodation,5,2,,485500,300100",
]
CAND_HEADER = "candidate_id,name,postcode,bedrooms,uses,condition,cost,tenure,available_from"
CAND_ROWS = [
    'P1,Property 1,LE15 6AA,3,small_home,good,"£120,000",freehold,01/04/2026',
    "P2,Property 2,PE9 4AA,2,care_leaver_unit;supported_accommodation,fair,80000,freehold,2026-09-01",
    "P3,Property 3,LE15 9AF,4,small_home;care_leaver_unit,poor,150000,leasehold,15/01/2027",
]


def _csv(header: str, rows: list[str]) -> str:
    return "\n".join([header, *rows]) + "\n"


def _with(rows: list[str], i: int, col: int, value: str) -> list[str]:
    out = list(rows)
    cells = out[i].split(",")
    cells[col] = value
    out[i] = ",".join(cells)
    return out


def _xlsx(sheets: dict[str, list[list[object]]]) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets.items():
        ws = wb.create_sheet(title)
        for r in rows:
            ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return _stable_zip(buf.getvalue())


def _stable_zip(data: bytes) -> bytes:
    """Rewrite a zip with fixed timestamps so the file is byte-identical on every run."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                import re

                body = re.sub(rb"<dcterms:(created|modified)[^>]*>[^<]*</dcterms:\1>", rb"", body)
            zi = zipfile.ZipInfo(info.filename, date_time=(2025, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(zi, body)
    return out.getvalue()


def files() -> dict[str, bytes]:
    f: dict[str, bytes] = {}
    pl = _csv(PL_HEADER, PL_ROWS)
    # ---- fatal: not a usable table ----------------------------------------------------------
    f["pl_empty.csv"] = b""
    f["pl_whitespace_only.csv"] = b"\r\n  \r\n\t\r\n"
    f["pl_header_only.csv"] = (PL_HEADER + "\n").encode()
    f["pl_missing_column.csv"] = _csv(PL_HEADER.replace("PL_POST", "PL_POSTX"), PL_ROWS).encode()
    f["pl_two_pl_post_columns.csv"] = _csv(
        PL_HEADER + ",PL_POST", [r + ",LE15 6AA" for r in PL_ROWS]
    ).encode()
    f["pl_old_excel.xls"] = (
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + b"Workbook" + bytes(100)
    )
    f["pl_html_export.xls"] = (
        b"<html><body><table><tr><th>CHILD</th><th>HOME_POST</th></tr><tr><td>C001</td><td>LE15 6AA</td></tr></table></body></html>\n"
    )
    f["pl_pdf_report.csv"] = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"
    f["pl_binary.csv"] = bytes(range(256)) * 4
    f["pl_damaged.xlsx"] = b"PK\x03\x04" + b"\x14\x00\x00\x00\x08\x00" + b"not really a zip" * 10
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as zf:
        zi = zipfile.ZipInfo("placements.csv", date_time=(2025, 1, 1, 0, 0, 0))
        zf.writestr(zi, pl)
    f["pl_zip_archive.csv"] = zbuf.getvalue()
    f["pl_unclosed_quote.csv"] = _csv(
        PL_HEADER,
        _with(PL_ROWS, 1, 1, '"03/11/2009')
        + [f"C{k:03d},01/01/2010,0,01/01/2025,U4,LE15 6AA,LE15 9AE," for k in range(6, 40)],
    ).encode()
    f["pl_excel2003.xml"] = (
        b'<?xml version="1.0"?>\n<?mso-application progid="Excel.Sheet"?>\n'
        b'<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"><Worksheet ss:Name="Sheet1"><Table>'
        b'<Row><Cell><Data ss:Type="String">CHILD</Data></Cell></Row></Table></Worksheet></Workbook>\n'
    )
    f["pl_empty_workbook.xlsx"] = _xlsx({"Sheet1": []})
    f["site_no_location.csv"] = _csv(
        "site_id,name,type,places", ["S1,Home A,childrens_home,4", "S2,Home B,childrens_home,3"]
    ).encode()
    f["site_header_only.csv"] = (SITE_HEADER + "\n").encode()
    f["lookup_wrong_columns.csv"] = b"code,x,y\nLE156AA,485996,308869\n"
    # ---- row-level: postcodes ----------------------------------------------------------------
    f["pl_postcode_malformed.csv"] = _csv(PL_HEADER, _with(PL_ROWS, 2, 6, "PE9 3CX")).encode()
    f["pl_postcode_unknown.csv"] = _csv(PL_HEADER, _with(PL_ROWS, 2, 6, "LE15 1ZZ")).encode()
    f["pl_postcode_pseudo.csv"] = _csv(PL_HEADER, _with(PL_ROWS, 2, 5, "ZZ99 3VZ")).encode()
    f["pl_postcode_incomplete.csv"] = _csv(PL_HEADER, _with(PL_ROWS, 2, 6, "LE15")).encode()
    f["pl_postcode_typo_O.csv"] = _csv(PL_HEADER, _with(PL_ROWS, 2, 5, "LE15 OAQ")).encode()
    f["pl_postcode_placeholder.csv"] = _csv(PL_HEADER, _with(PL_ROWS, 2, 6, "N/K")).encode()
    f["pl_postcode_messy_case.csv"] = _csv(
        PL_HEADER, _with(_with(PL_ROWS, 0, 5, "le156aa"), 1, 6, " LE13   0AA ")
    ).encode()
    f["pl_postcode_northern_ireland.csv"] = _csv(
        PL_HEADER, _with(PL_ROWS, 2, 6, "BT1 1AA")
    ).encode()
    f["pl_postcode_channel_islands.csv"] = _csv(PL_HEADER, _with(PL_ROWS, 2, 6, "GY1 1AA")).encode()
    f["pl_postcode_in_address.csv"] = _csv(
        PL_HEADER, _with(PL_ROWS, 2, 5, '"12 Main Street, Ryhall, PE9 4AA"')
    ).encode()
    # ---- row-level: ids, codes, duplicates ---------------------------------------------------
    f["pl_missing_child.csv"] = _csv(PL_HEADER, _with(PL_ROWS, 2, 0, "")).encode()
    f["pl_duplicate_child_conflict.csv"] = _csv(
        PL_HEADER, [*PL_ROWS, _with(PL_ROWS, 1, 6, "PE9 3AX")[1]]
    ).encode()
    f["pl_duplicate_row.csv"] = _csv(PL_HEADER, [*PL_ROWS, PL_ROWS[0]]).encode()
    f["pl_earlier_episode.csv"] = _csv(
        PL_HEADER, [_with(_with(PL_ROWS, 3, 3, "01/05/2023"), 3, 6, "NN17 1AA")[3], *PL_ROWS]
    ).encode()
    f["pl_unknown_place.csv"] = _csv(PL_HEADER, _with(PL_ROWS, 2, 4, "X9")).encode()
    # ---- row-level: dates and flags ----------------------------------------------------------
    f["pl_dob_us_format.csv"] = _csv(PL_HEADER, _with(PL_ROWS, 2, 1, "07/21/2015")).encode()
    f["pl_dob_not_a_date.csv"] = _csv(PL_HEADER, _with(PL_ROWS, 2, 1, "not known")).encode()
    f["pl_dob_impossible.csv"] = _csv(PL_HEADER, _with(PL_ROWS, 2, 1, "31/02/2015")).encode()
    f["pl_dob_future.csv"] = _csv(PL_HEADER, _with(PL_ROWS, 2, 1, "01/01/2030")).encode()
    f["pl_dob_excel_serial.csv"] = _csv(PL_HEADER, _with(PL_ROWS, 2, 1, "42206")).encode()
    f["pl_dob_too_old.csv"] = _csv(PL_HEADER, _with(PL_ROWS, 2, 1, "01/01/1990")).encode()
    f["pl_decom_after_reference.csv"] = _csv(PL_HEADER, _with(PL_ROWS, 2, 3, "01/06/2025")).encode()
    f["pl_uasc_invalid.csv"] = _csv(PL_HEADER, _with(PL_ROWS, 2, 2, "maybe")).encode()
    # ---- file layout and encodings ----------------------------------------------------------
    f["pl_utf8_bom.csv"] = codecs.BOM_UTF8 + pl.encode()
    f["pl_cp1252.csv"] = _csv(
        PL_HEADER + ",NOTES",
        [
            r + "," + ("Carer Mrs Bront\u00eb; \u00a3950 per week" if i == 2 else "")
            for i, r in enumerate(PL_ROWS)
        ],
    ).encode("cp1252")
    f["pl_utf16_tab.txt"] = codecs.BOM_UTF16_LE + _csv(
        PL_HEADER.replace(",", "\t"), [r.replace(",", "\t") for r in PL_ROWS]
    ).replace("\n", "\r\n").encode("utf-16-le")
    f["pl_semicolon.csv"] = _csv(
        PL_HEADER.replace(",", ";"), [r.replace(",", ";") for r in PL_ROWS]
    ).encode()
    f["pl_ragged_row.csv"] = _csv(PL_HEADER, _with(PL_ROWS, 2, 5, "PE9 4AA,Ryhall")).encode()
    f["pl_blank_row.csv"] = _csv(PL_HEADER, [*PL_ROWS[:2], ",,,,,,,", *PL_ROWS[2:]]).encode()
    f["pl_excel_errors.csv"] = _csv(PL_HEADER, _with(PL_ROWS, 2, 6, "#N/A")).encode()
    f["pl_column_aliases.csv"] = _csv(
        "Child ID,Date of Birth,UASC,Start Date,Placement Type,Home Postcode,Placement Postcode,URN",
        PL_ROWS,
    ).encode()
    f["pl_personal_columns.csv"] = _csv(
        PL_HEADER + ",CHILD_NAME,CARER_ADDRESS", [r + ",Jane Doe,1 Carer Road" for r in PL_ROWS]
    ).encode()
    f["pl_gzipped.csv.gz"] = gzip.compress(pl.encode(), mtime=0)
    f["pl_xlsx_named_csv.csv"] = _xlsx(
        {"Sheet1": [PL_HEADER.split(","), *[r.split(",") for r in PL_ROWS]]}
    )
    f["pl_csv_named_xlsx.xlsx"] = pl.encode()
    import datetime as dt

    def typed(r: str) -> list[object]:
        c: list[object] = list(r.split(","))
        d, m, y = (int(x) for x in str(c[1]).split("/"))
        c[1] = dt.datetime(y, m, d)
        c[2] = int(str(c[2]))
        return c

    f["pl_title_rows.xlsx"] = _xlsx(
        {
            "Report": [
                ["Children looked after at 31 March 2025"],
                ["Produced by CMS export", None],
                [],
                PL_HEADER.split(","),
                *[typed(r) for r in PL_ROWS],
            ]
        }
    )
    f["pl_two_sheets.xlsx"] = _xlsx(
        {
            "Notes": [["This workbook holds the 903 extract"], ["See the second sheet"]],
            "Episodes": [PL_HEADER.split(","), *[typed(r) for r in PL_ROWS]],
        }
    )
    f["pl_coordinates_swapped.csv"] = _csv(
        "CHILD,PLACE,HOME_EASTING,HOME_NORTHING,PL_EASTING,PL_NORTHING",
        [
            "C001,U4,485996,308869,486079,301005",
            "C002,K2,486079,301005,475576,317807",
            "C003,U6,499913,309138,45000,182000",
        ],
    ).encode()
    f["pl_postcode_and_coords_disagree.csv"] = _csv(
        "CHILD,PLACE,HOME_POST,PL_POST,PL_EASTING,PL_NORTHING",
        ["C001,U4,LE15 6AA,LE15 9AE,486079,301005", "C002,K2,LE15 9AF,LE13 0AA,499913,309138"],
    ).encode()
    # ---- sites -------------------------------------------------------------------------------
    site = _csv(SITE_HEADER, SITE_ROWS)
    f["site_lonlat_as_en.csv"] = site.replace("486000,308900", "-0.7297,52.6707").encode()
    f["site_latlon_as_en.csv"] = site.replace("486000,308900", "52.6707,-0.7297").encode()
    f["site_en_as_lonlat.csv"] = _csv(
        "site_id,name,type,places,lon,lat",
        ["S1,Home A,childrens_home,4,486000,308900", "S2,Home B,childrens_home,3,-0.7297,52.6707"],
    ).encode()
    f["site_lonlat_swapped.csv"] = _csv(
        "site_id,name,type,places,lon,lat",
        [
            "S1,Home A,childrens_home,4,52.6707,-0.7297",
            "S2,Home B,childrens_home,3,-0.7297,52.6707",
        ],
    ).encode()
    f["site_web_mercator.csv"] = site.replace("486000,308900", "-81229,6922320").encode()
    f["site_kilometres.csv"] = site.replace("486000,308900", "486.0,308.9").encode()
    f["site_zero_coords.csv"] = site.replace("486000,308900", "0,0").encode()
    f["site_outside_grid.csv"] = site.replace("486000,308900", "900000,2500000").encode()
    f["site_outside_england.csv"] = site.replace("486000,308900", "318000,176000").encode()
    f["site_duplicate_id.csv"] = _csv(
        SITE_HEADER, [*SITE_ROWS, SITE_ROWS[0].replace("Home A", "Home A (again)")]
    ).encode()
    f["site_missing_id.csv"] = _csv(SITE_HEADER, _with(SITE_ROWS, 1, 0, "")).encode()
    f["site_unknown_type.csv"] = _csv(
        SITE_HEADER, _with(SITE_ROWS, 1, 2, "respite centre")
    ).encode()
    f["site_places_not_number.csv"] = _csv(SITE_HEADER, _with(SITE_ROWS, 1, 3, "three")).encode()
    f["site_available_over.csv"] = _csv(SITE_HEADER, _with(SITE_ROWS, 2, 4, "9")).encode()
    f["site_thousands_separator.csv"] = site.replace(
        "486000,308900", '"486,000","308,900"'
    ).encode()
    # ---- candidates --------------------------------------------------------------------------
    f["cand_bedrooms_zero.csv"] = _csv(CAND_HEADER, _with(CAND_ROWS, 2, 3, "0")).encode()
    f["cand_unknown_use.csv"] = _csv(CAND_HEADER, _with(CAND_ROWS, 1, 4, "day nursery")).encode()
    f["cand_cost_text.csv"] = _csv(CAND_HEADER, _with(CAND_ROWS, 2, 6, "lots")).encode()
    return f


def main() -> None:
    for name, data in files().items():
        (HERE / name).write_bytes(data)
    print(f"wrote {len(files())} files to {HERE}")


if __name__ == "__main__":
    main()
