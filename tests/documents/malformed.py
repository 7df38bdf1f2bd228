"""Generators of hostile and broken upload files for the extraction robustness tests.

Every generator is deterministic and cheap: the zip bomb is a ~60 KiB file whose one member claims
20 MiB of zeros, and nothing here is ever fully decompressed by the code under test.
"""

from __future__ import annotations

import io
import zipfile
import zlib

import pypdf

from documents.samples import assemble_pdf, build_docx, build_pdf

PAGE_TEXT = [
    ["# Section one", "The first page says that parcels ship on Tuesdays."],
    ["# Section two", "The second page says that invoices are sent by email."],
    ["# Section three", "The third page says that the warehouse is in Leeds."],
]


def good_pdf() -> bytes:
    return build_pdf(PAGE_TEXT, title="Malformed corpus base")


def truncated_pdf() -> bytes:
    """The first 300 bytes: the header and part of the catalog, no page tree and no xref."""
    return good_pdf()[:300]


def corrupt_streams_pdf() -> bytes:
    """Overwrite every (Flate-compressed) content stream with noise that does not inflate."""
    data = bytearray(good_pdf())
    position = 0
    while (start := data.find(b"stream\n", position)) != -1:
        begin = start + len(b"stream\n")
        end = data.find(b"\nendstream", begin)
        data[begin:end] = bytes((i * 37 + 11) % 256 for i in range(end - begin))
        position = end + len(b"\nendstream")
    return bytes(data)


def garbage_xref_pdf() -> bytes:
    """Corrupt streams plus an xref table of noise; ``startxref`` still points at it."""
    data = corrupt_streams_pdf()
    xref = data.rfind(b"xref\n")
    startxref = data.rfind(b"startxref")
    return (
        data[:xref]
        + b"xref\n0 9\n"
        + b"garbage \x00\x01 garbage!\n" * 9
        + b"trailer\n<< /Size 9 >>\n"
        + data[startxref:]
    )


def no_startxref_pdf() -> bytes:
    """The xref table, trailer and ``startxref`` replaced by noise."""
    data = good_pdf()
    return data[: data.rfind(b"xref\n")] + b"xref\n0 zz\nnot a table at all \x00\x01\x02\n%%EOF\n"


def encrypted_pdf(user_password: str = "s3cret") -> bytes:
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(good_pdf())))
    writer.encrypt(user_password=user_password, owner_password="owner-" + user_password)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def owner_only_encrypted_pdf() -> bytes:
    """Encrypted with an empty user password: readers open it without asking for one."""
    return encrypted_pdf(user_password="")


def image_only_pdf() -> bytes:
    """One page that paints a 2x2 grey image and has no text operators at all."""
    pixels = bytes([0x20, 0xA0, 0xA0, 0x20])
    image = zlib.compress(pixels)
    content = b"q 200 0 0 200 100 400 cm /Im1 Do Q"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /XObject << /Im1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /XObject /Subtype /Image /Width 2 /Height 2 /ColorSpace /DeviceGray "
        b"/BitsPerComponent 8 /Filter /FlateDecode /Length %d >>\nstream\n"
        % len(image)
        + image
        + b"\nendstream",
    ]
    return assemble_pdf(objects)


def many_pages_pdf(pages: int) -> bytes:
    return build_pdf([[f"This is page {n} of a long report."] for n in range(1, pages + 1)])


def _docx_with_document_xml(document_xml: bytes) -> bytes:
    """A real .docx whose word/document.xml is replaced by ``document_xml``."""
    original = zipfile.ZipFile(io.BytesIO(build_docx([("p", "placeholder")])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in original.infolist():
            payload = document_xml if info.filename == "word/document.xml" else original.read(info)
            archive.writestr(info.filename, payload)
    return out.getvalue()


_W = b'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'


def billion_laughs_docx() -> bytes:
    entities = b'<!ENTITY lol "lol">' + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)
    )
    xml = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        b"<!DOCTYPE w:document [" + entities + b"]>"
        b"<w:document " + _W + b"><w:body><w:p><w:r><w:t>&lol9;</w:t></w:r></w:p></w:body></w:document>"
    )
    return _docx_with_document_xml(xml)


def xxe_docx() -> bytes:
    xml = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        b'<!DOCTYPE w:document [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        b"<w:document " + _W + b"><w:body><w:p><w:r><w:t>&xxe;</w:t></w:r></w:p></w:body></w:document>"
    )
    return _docx_with_document_xml(xml)


def utf16_doctype_docx() -> bytes:
    """A DTD hidden by encoding the part as UTF-16 (a naive ASCII byte scan would miss it)."""
    xml = (
        '<?xml version="1.0" encoding="UTF-16"?>\n'
        '<!DOCTYPE w:document [<!ENTITY xxe SYSTEM "file:///etc/hostname">]>'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        "<w:body><w:p><w:r><w:t>&xxe;</w:t></w:r></w:p></w:body></w:document>"
    ).encode("utf-16")
    return _docx_with_document_xml(xml)


def _hostile_document_xml(declaration: str | None = None) -> str:
    """A document part with an internal DTD; ``declaration`` names the encoding it declares."""
    head = f'<?xml version="1.0" encoding="{declaration}" standalone="yes"?>\n' if declaration else ""
    return (
        head + '<!DOCTYPE w:document [<!ENTITY xxe SYSTEM "file:///etc/hostname">]>'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        "<w:body><w:p><w:r><w:t>Entity: &xxe;</w:t></w:r></w:p></w:body></w:document>"
    )


def dtd_in_renamed_main_part_docx() -> bytes:
    """The main document is ``word/main.bin``, found through the package relationships and a content
    type override; ``word/document.xml`` stays as a harmless decoy. python-docx parses main.bin."""
    original = zipfile.ZipFile(io.BytesIO(build_docx([("p", "Decoy text.")])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in original.infolist():
            payload = original.read(info)
            if info.filename == "_rels/.rels":
                payload = payload.replace(b'Target="word/document.xml"', b'Target="word/main.bin"')
            elif info.filename == "[Content_Types].xml":
                payload = payload.replace(
                    b"</Types>",
                    b'<Override PartName="/word/main.bin" ContentType="application/'
                    b'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
                )
            elif info.filename == "word/_rels/document.xml.rels":
                archive.writestr("word/_rels/main.bin.rels", payload)
            archive.writestr(info.filename, payload)
        archive.writestr("word/main.bin", _hostile_document_xml("UTF-8").encode())
    return out.getvalue()


def encoded_doctype_docx(encoding: str, declaration: str | None = None, bom: bytes = b"") -> bytes:
    """A DTD in word/document.xml encoded as ``encoding`` (an ASCII byte scan misses UTF-32 and UTF-7)."""
    return _docx_with_document_xml(bom + _hostile_document_xml(declaration).encode(encoding))


def utf7_doctype_docx() -> bytes:
    """A DTD spelled in UTF-7, where "<" is "+ADw-": no byte of the file reads "<!DOCTYPE"."""
    xml = _hostile_document_xml("UTF-7").encode("ascii").replace(b"<!", b"+ADw-!")
    return _docx_with_document_xml(xml)


def utf16_document_docx(text: str) -> bytes:
    """A clean .docx whose document part is re-encoded as UTF-16 with a BOM (legal, if unusual)."""
    data = build_docx([("p", text)])
    xml = zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml").decode()
    xml = xml.replace("encoding='UTF-8'", "encoding='UTF-16'").replace(
        'encoding="UTF-8"', 'encoding="UTF-16"'
    )
    return _docx_with_document_xml(xml.encode("utf-16"))


def zip_bomb_docx(member_bytes: int = 20 * 2**20) -> bytes:
    """A valid .docx plus one member of ``member_bytes`` zeros (ratio ~1000:1, file ~60 KiB)."""
    base = zipfile.ZipFile(io.BytesIO(build_docx([("p", "Looks harmless.")])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for info in base.infolist():
            archive.writestr(info.filename, base.read(info))
        with archive.open("word/media/padding.bin", "w") as member:
            chunk = bytes(2**20)
            for _ in range(member_bytes // 2**20):
                member.write(chunk)
    return out.getvalue()


def random_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("notes.txt", "not a word document")
        archive.writestr("data/values.csv", "a,b\n1,2\n")
    return out.getvalue()


def truncated_docx() -> bytes:
    data = build_docx([("h1", "Heading"), ("p", "Body text.")])
    return data[: len(data) // 2]


def png_bytes() -> bytes:
    header = b"\x89PNG\r\n\x1a\n"
    ihdr = b"\x00\x00\x00\x01\x00\x00\x00\x01\x08\x00\x00\x00\x00"
    chunk = len(ihdr).to_bytes(4, "big") + b"IHDR" + ihdr
    chunk += zlib.crc32(b"IHDR" + ihdr).to_bytes(4, "big")
    return header + chunk + b"\x00\x00\x00\x00IEND\xaeB`\x82"


def binary_garbage(size: int = 4096) -> bytes:
    """Deterministic pseudo-random bytes (a linear congruential generator, not os.urandom)."""
    state = 12345
    out = bytearray()
    for _ in range(size):
        state = (1103515245 * state + 12345) % 2**31
        out.append(state >> 16 & 0xFF)
    return bytes(out)


def binary_garbage_without_nul(size: int = 4096) -> bytes:
    return bytes(b or 1 for b in binary_garbage(size))
