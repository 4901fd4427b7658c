#!/usr/bin/env python3
"""Writes the MIME corpus (tests/corpus/mime/*.eml and INDEX.tsv), byte for byte the same on every run.

Each message is the shape some MTA or mail client really sends, or a known way such mail is broken;
INDEX.tsv says for each file what it exercises and where the shape comes from. The messages are
written out here rather than by a MIME library so that the broken ones stay broken. Run it from
anywhere: `python3 tests/corpus/mime/generate.py`; it removes the .eml files it no longer writes.
"""

import base64
import os
import quopri

HERE = os.path.dirname(os.path.abspath(__file__))
MESSAGES = []  # (name, bytes, what, source)


def add(name, what, source, data):
    assert all(n != name for n, *_ in MESSAGES), name
    if isinstance(data, str):
        data = data.encode("utf-8")
    MESSAGES.append((name, data, what, source))


def crlf(text, encoding="utf-8"):
    """Text with LF line ends to CRLF bytes."""
    return text.replace("\r\n", "\n").replace("\n", "\r\n").encode(encoding)


def head(subject="Test", extra="", frm="Alice Example <alice@example.org>", to="Bob Example <bob@example.com>",
         mid=None, date="Tue, 02 Jan 2024 10:00:00 +0100"):
    lines = []
    if frm is not None:
        lines.append(f"From: {frm}")
    if to is not None:
        lines.append(f"To: {to}")
    if subject is not None:
        lines.append(f"Subject: {subject}")
    if date is not None:
        lines.append(f"Date: {date}")
    if mid is not False:
        lines.append(f"Message-ID: <{mid or 'x'}@corpus.example.org>")
    lines.append("MIME-Version: 1.0")
    text = "\n".join(lines) + "\n"
    if extra:
        text += extra.rstrip("\n") + "\n"
    return text


def simple(name, what, source, subject, body="Hello.\n", ctype="text/plain; charset=utf-8", cte="7bit", **kw):
    kw.setdefault("mid", name)
    add(name, what, source, crlf(head(subject, f"Content-Type: {ctype}\nContent-Transfer-Encoding: {cte}", **kw) + "\n" + body))


def b64(data, width=76):
    s = base64.b64encode(data).decode()
    return "\n".join(s[i:i + width] for i in range(0, len(s), width)) + "\n"


def qp(data):
    return quopri.encodestring(data).decode("ascii").replace("\r\n", "\n")


def ew(text, charset="utf-8", kind="B"):
    raw = text.encode(charset) if isinstance(text, str) else text
    if kind.upper() == "B":
        enc = base64.b64encode(raw).decode()
    else:
        enc = "".join(chr(b) if (0x30 <= b <= 0x39 or 0x41 <= b <= 0x5A or 0x61 <= b <= 0x7A) else
                      ("_" if b == 0x20 else f"={b:02X}") for b in raw)
    return f"=?{charset}?{kind}?{enc}?="


def bin_data(n, seed=1):
    """n deterministic pseudo-random bytes."""
    out = bytearray()
    x = seed * 2654435761 & 0xFFFFFFFF
    while len(out) < n:
        x = (x * 1103515245 + 12345) & 0xFFFFFFFF
        out.append((x >> 16) & 0xFF)
    return bytes(out)


PDF = b"%PDF-1.4\n" + bin_data(3000, 7) + b"\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR" + bin_data(600, 3)


def mixed(name, what, source, subject, parts, boundary="=_corpus_b1", extra="", preamble="", epilogue="", final=True,
          ctype="multipart/mixed", encoding="utf-8", **kw):
    """parts: list of (headers text, body text) already in LF form."""
    text = head(subject, f'Content-Type: {ctype}; boundary="{boundary}"\n' + extra, mid=name, **kw) + "\n" + preamble
    for h, b in parts:
        text += f"--{boundary}\n{h.rstrip(chr(10))}\n\n{b}"
        if not text.endswith("\n"):
            text += "\n"
    if final:
        text += f"--{boundary}--\n" + epilogue
    add(name, what, source, crlf(text, encoding))


def attach(filename_params, data, ctype="application/octet-stream", cte="base64", disp="attachment"):
    h = f"Content-Type: {ctype}{filename_params[0]}\nContent-Disposition: {disp}{filename_params[1]}\nContent-Transfer-Encoding: {cte}"
    return h, b64(data) if cte == "base64" else data


TEXT = ("Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit", "See the attachment.\n")


# ---- RFC 2047 encoded words ----------------------------------------------------------------------
def encoded_words():
    src = "RFC 2047 and the shapes MUAs produce"
    simple("ew_b_utf8", "B word, UTF-8", src, ew("Grüße aus Köln"))
    simple("ew_q_latin1", "Q word, ISO-8859-1", src, ew("Café crème", "iso-8859-1", "Q"))
    simple("ew_q_lowercase", "lowercase ?q? and lowercase hex", src, "=?utf-8?q?M=c3=bcnchen_im_Mai?=")
    simple("ew_b_lowercase", "lowercase ?b?", src, ew("Ελληνικά", "utf-8", "b"))
    simple("ew_q_underscores", "underscores as spaces, =5F as a real underscore", src, "=?utf-8?Q?file=5Fname_and_spaces_=E2=82=AC?=")
    euro = "€ Preis".encode()
    simple("ew_split_multibyte_b", "B words splitting one UTF-8 character (Outlook, long subjects)", "Outlook 2016",
           f"=?utf-8?B?{base64.b64encode(euro[:1]).decode()}?= =?utf-8?B?{base64.b64encode(euro[1:]).decode()}?=")
    cz = "Příliš žluťoučký kůň".encode()
    simple("ew_split_multibyte_q", "Q words splitting UTF-8 characters", "Thunderbird folding",
           ew(cz[:2], "utf-8", "Q") + "\n " + ew(cz[2:9], "utf-8", "Q") + "\n " + ew(cz[9:], "utf-8", "Q"))
    emoji = "Party 🎉🎂 time".encode()
    simple("ew_split_emoji", "a 4-byte emoji split across two B words", "Apple Mail",
           ew(emoji[:7], "utf-8", "B") + " " + ew(emoji[7:], "utf-8", "B"))
    simple("ew_adjacent_space", "whitespace between adjacent words is dropped", src,
           ew("Hallo ", "utf-8", "Q") + "   " + ew("Welt", "utf-8", "Q"))
    simple("ew_adjacent_folded", "adjacent words on folded lines", src,
           ew("Σημαντική ", "utf-8") + "\n\t" + ew("ενημέρωση", "utf-8"))
    simple("ew_mixed_plain", "encoded word between plain words keeps the spaces", src,
           "Re: Einladung " + ew("für", "iso-8859-1", "Q") + " Montag")
    simple("ew_missing_end", "missing ?= at the end (broken webmailer)", "broken webmailer", "=?utf-8?Q?Gr=C3=BC=C3=9Fe_aus_Wien")
    simple("ew_unknown_charset", "unknown charset label in a word", src, "=?x-unknown-42?Q?Hello_World?=")
    simple("ew_inside_word", "encoded word glued to text (illegal, common)", "mass mailers", "Sale=?utf-8?Q?_=E2=82=AC50_?=today")
    simple("ew_b_no_padding", "B word without = padding", src, "=?utf-8?B?" + base64.b64encode("Ärger".encode()).decode().rstrip("=") + "?=")
    simple("ew_q_literal_space", "Q word with a literal space inside (illegal)", "broken MUAs", "=?iso-8859-1?Q?Gr=FC=DFe aus Bern?=")
    simple("ew_language", "RFC 2231 language tag inside the word", "RFC 2231 section 5", "=?utf-8*de?Q?Gr=C3=BC=C3=9Fe?=")
    simple("ew_charset_case", "charset label in odd case", src, "=?Utf-8?B?" + base64.b64encode("Ünïcödé".encode()).decode() + "?=")
    simple("ew_empty_word", "an empty encoded word", src, "before =?utf-8?q??= after")
    simple("ew_iso2022jp", "ISO-2022-JP B words (Japanese MUAs)", "Japanese mobile mail", ew("会議のお知らせ", "iso-2022-jp", "B"))
    simple("ew_shift_jis", "Shift_JIS B word", "Japanese Windows mail", ew("見積書の送付", "shift_jis", "B"))
    simple("ew_gb2312", "GB2312 B word", "Chinese webmail", ew("你好，世界", "gb2312", "B"))
    simple("ew_gbk", "GBK word labelled gb2312 (common)", "Chinese webmail", "=?gb2312?B?" + base64.b64encode("镕基".encode("gbk")).decode() + "?=")
    simple("ew_big5", "Big5 B word", "Taiwanese mail", ew("會議記錄", "big5", "B"))
    simple("ew_koi8r", "KOI8-R Q word", "Russian mail", ew("Привет, мир", "koi8-r", "Q"))
    simple("ew_cp1251", "windows-1251 B word", "Russian Outlook", ew("Отчёт за квартал", "windows-1251", "B"))
    simple("ew_greek", "ISO-8859-7 Q word", "Greek mail", ew("Καλημέρα σας", "iso-8859-7", "Q"))
    simple("ew_czech", "ISO-8859-2 Q word", "Czech mail", ew("Děkuji za zprávu", "iso-8859-2", "Q"))
    simple("ew_cp1250", "windows-1250 B word", "Czech Outlook", ew("Šťastný nový rok", "windows-1250", "B"))
    simple("ew_hebrew", "ISO-8859-8-I B word", "Israeli mail", "=?iso-8859-8-i?B?" + base64.b64encode("שלום עולם".encode("iso-8859-8")).decode() + "?=")
    simple("ew_arabic", "windows-1256 Q word", "Arabic Outlook", ew("مرحبا بالعالم", "windows-1256", "Q"))
    simple("ew_long_many_words", "a subject of many words folded over lines", "Outlook",
           "\n ".join(ew("Ein sehr langer Betreff über Größenänderungen Nummer %d " % i, "utf-8", "Q") for i in range(12)))
    simple("ew_tab_separated", "words separated by a folded tab", src, ew("Zürich", "iso-8859-1") + "\n\t" + ew(" Genève", "iso-8859-1"))
    simple("ew_euckr", "EUC-KR B word", "Korean mail", ew("안녕하세요", "euc-kr", "B"))
    simple("ew_in_quoted_name", "encoded word inside a quoted display name (illegal, everywhere)", "Exchange",
           "Quoted name", frm='"=?utf-8?Q?J=C3=BCrgen_M=C3=BCller?=" <juergen@example.de>')
    add("ew_display_names", "encoded display names in From, To and Cc", src, crlf(head(
        "Names", "Cc: " + ew("王小明", "gb2312") + " <wang@example.cn>, " + ew("Иван", "koi8-r", "Q") + " <ivan@example.ru>\n"
        "Content-Type: text/plain; charset=us-ascii",
        frm=ew("Zoë Ångström") + " <zoe@example.se>",
        to=ew("Jiří Novák", "iso-8859-2", "Q") + " <jiri@example.cz>, " + ew("Γιώργος", "iso-8859-7") + " <g@example.gr>",
        mid="ew_display_names") + "\nHi all.\n"))
    simple("ew_address_comment", "encoded word in an address comment", "old Pine/Mutt", "Comment",
           frm="alice@example.org (" + ew("Alice Müller", "iso-8859-1", "Q") + ")")


encoded_words()


# ---- RFC 2231 parameters -------------------------------------------------------------------------
def rfc2231():
    src = "RFC 2231 as Thunderbird, Apple Mail and Outlook write it"
    data = bin_data(1234, 11)

    def one(name, what, ctype_params, disp_params, source=src, payload=data):
        mixed(name, what, source, "RFC 2231 " + name, [TEXT, attach((ctype_params, disp_params), payload)])

    one("p2231_continuation", "plain continuations filename*0= filename*1=", "",
        '; filename*0="a very long file name that had to be split ";\n filename*1="over two lines.pdf"')
    one("p2231_encoded_continuation", "encoded continuations filename*0*= filename*1*=", "",
        "; filename*0*=utf-8''Gr%C3%BC%C3%9Fe%20aus%20;\n filename*1*=K%C3%B6ln.txt", "Thunderbird")
    one("p2231_charset_language", "charset and language: iso-8859-1'de'", "",
        "; filename*=iso-8859-1'de'Preisliste%20f%FCr%20M%E4rz.xls")
    one("p2231_emoji", "percent-encoded emoji", "", "; filename*=UTF-8''%F0%9F%93%8E%20notes%20%E2%9C%85.txt", "Apple Mail")
    one("p2231_mixed_plain", "filename*= next to a plain filename= fallback", "",
        '; filename="Uebersicht.pdf"; filename*=utf-8\'\'%C3%9Cbersicht.pdf', "Outlook")
    one("p2231_out_of_order", "continuations out of order", "", '; filename*1="part2.doc"; filename*0="part1-"')
    one("p2231_empty_charset", "no charset: ''", "", "; filename*=''plain%20name.bin")
    one("p2231_first_encoded_only", "first piece encoded, rest quoted", "",
        "; filename*0*=utf-8''%C5%BDlut%C3%BD;\n filename*1=\" kun.txt\"")
    one("p2231_name_in_ctype", "name*= on Content-Type only, no disposition filename",
        "; name*=utf-8''%D0%9E%D1%82%D1%87%D1%91%D1%82.docx", "")
    one("p2231_unknown_charset", "an unknown charset in the parameter", "", "; filename*=x-bogus''report%20final.txt")
    one("p2231_windows_path", "a Windows path in the name (Outlook on drag and drop)", "",
        '; filename="C:\\\\Users\\\\jan\\\\Desktop\\\\faktura.pdf"', "Outlook")
    one("p2231_rfc2047_in_param", "RFC 2047 in a quoted name (illegal, Outlook and Gmail do it)",
        '; name="' + ew("Ελληνικά αρχεία.zip") + '"', '; filename="' + ew("Ελληνικά αρχεία.zip") + '"', "Gmail")
    one("p2231_rfc2047_split", "RFC 2047 name split over two words", "",
        '; filename="' + ew("Zpráva o stavu ", "iso-8859-2", "Q") + " " + ew("projektu.pdf", "iso-8859-2", "Q") + '"', "Outlook")
    one("p2231_unquoted_spaces", "unquoted name with spaces (illegal)", "", "; filename=annual report 2023.pdf")
    one("p2231_8bit_name", "raw UTF-8 in the quoted name (SMTPUTF8 style)", "", '; filename="日本語の資料.pdf"')
    one("p2231_percent_plain", "percent signs in a plain name stay", "", '; filename="100% done.txt"')


rfc2231()


# ---- transfer encodings ------------------------------------------------------------------------------
def transfer_encodings():
    src = "RFC 2045 and what mailers get wrong"
    de = "Schöne Grüße aus München – das Büro ist am Freitag geschlossen.\n" * 3
    simple("te_7bit", "7bit text", src, "7bit", "Plain ASCII text.\nSecond line.\n")
    simple("te_8bit_utf8", "8bit UTF-8 text", src, "8bit", de, cte="8bit")
    simple("te_cte_uppercase", "CTE and charset in upper case", src, "upper", de, ctype="TEXT/PLAIN; CHARSET=UTF-8", cte="8BIT")
    simple("te_qp_soft_breaks", "QP with soft line breaks", src, "qp", qp(de.encode() * 4), cte="quoted-printable")
    simple("te_qp_lowercase_hex", "QP with lowercase hex", src, "qp lower", "Gr=c3=bc=c3=9fe\n", cte="quoted-printable")
    simple("te_qp_invalid_escape", "QP with =XY that is not hex, and a lone =", src, "qp invalid",
           "Price =XY 100% =\nsure= ok\n50=%\n", cte="quoted-printable")
    simple("te_qp_long_lines", "QP lines far over 76 characters", src, "qp long",
           ("Lorem ipsum =C3=A4 " * 60) + "\n", cte="quoted-printable")
    simple("te_qp_trailing_space", "QP with trailing whitespace before line ends", src, "qp trailing",
           "line one   \nline two\t\nline three=20\n", cte="quoted-printable")
    simple("te_qp_html", "QP HTML with =3D", src, "qp html",
           "<html><body><p style=3D\"color:red\">Gr=C3=BC=C3=9Fe</p><a href=3D\"https://example.org/a?b=3D1\">x</a></body></html>\n",
           ctype="text/html; charset=utf-8", cte="quoted-printable")
    simple("te_b64_text", "base64 text body", src, "b64 text", b64(de.encode()), cte="base64")
    simple("te_b64_html", "base64 HTML body", src, "b64 html", b64("<html><body><h1>Überschrift</h1><p>Text</p></body></html>".encode()),
           ctype="text/html; charset=utf-8", cte="base64")
    simple("te_cte_spaces", "CTE value with spaces and odd case", src, "cte spaces", b64(de.encode()), cte="  Base64 ")
    simple("te_cte_unknown", "unknown transfer encoding x-uuencode", src, "unknown cte", "begin 644 x\n`\nend\n", cte="x-uuencode")

    def b64att(name, what, text, source=src):
        mixed(name, what, source, "b64 " + name, [TEXT, ('Content-Type: application/octet-stream; name="data.bin"\n'
              'Content-Disposition: attachment; filename="data.bin"\nContent-Transfer-Encoding: base64', text)])

    data = bin_data(3000, 5)
    enc = base64.b64encode(data).decode()
    b64att("te_b64_width_60", "base64 in 60-column lines", b64(data, 60))
    b64att("te_b64_width_100", "base64 in 100-column lines", b64(data, 100))
    b64att("te_b64_one_line", "base64 in one 4000-column line", enc + "\n")
    b64att("te_b64_irregular", "base64 lines of irregular length", "\n".join(enc[i:j] for i, j in zip(
        [0, 10, 85, 86, 300, 1000, 2000, 3999], [10, 85, 86, 300, 1000, 2000, 3999, len(enc)])) + "\n")
    d2 = bin_data(1000, 6)
    b64att("te_b64_missing_padding", "base64 without its = padding", base64.b64encode(d2).decode().rstrip("=") + "\n")
    b64att("te_b64_extra_padding", "base64 with too much padding", base64.b64encode(d2).decode() + "==\n")
    b64att("te_b64_stray_chars", "base64 with stray characters (! * and spaces)", b64(data).replace("A", "A!", 3).replace("Q", "Q *", 2))
    b64att("te_b64_data_after_pad", "base64 with text after the padding", base64.b64encode(d2).decode() + "\n-- \nsent by gateway\n")
    b64att("te_b64_crlf_every_4", "base64 broken every 4 characters", "\n".join(enc[i:i + 4] for i in range(0, len(enc), 4)) + "\n")
    b64att("te_b64_leading_spaces", "base64 lines indented by a gateway", "".join("  " + l + "\n" for l in b64(data).splitlines()))
    mixed("te_binary", "binary transfer encoding with bytes of every value", "BINARYMIME", "binary",
          [TEXT, ('Content-Type: application/octet-stream; name="all.bin"\nContent-Transfer-Encoding: binary',
                  bytes(b for b in range(256) if b not in (10, 13)).decode("latin-1"))], encoding="latin-1")
    mixed("te_8bit_attachment", "8bit text attachment in Latin-1", src, "8bit attachment",
          [TEXT, ('Content-Type: text/plain; charset=iso-8859-1; name="liste.txt"\nContent-Disposition: attachment; filename="liste.txt"\n'
                  'Content-Transfer-Encoding: 8bit', "Äpfel\nBirnen\n")], encoding="latin-1")
    mixed("te_qp_attachment", "QP attachment, size after decoding", src, "qp attachment",
          [TEXT, ('Content-Type: text/csv; charset=utf-8; name="data.csv"\nContent-Disposition: attachment; filename="data.csv"\n'
                  'Content-Transfer-Encoding: quoted-printable', qp("name;city\nJürgen;München\nΑλέξης;Αθήνα\n".encode() * 30))])


transfer_encodings()


# ---- multipart structure, damaged and ambiguous ----------------------------------------------------
def multipart():
    src = "RFC 2046 and broken mailers"
    pdf = attach(('; name="doc.pdf"', '; filename="doc.pdf"'), PDF, "application/pdf")
    alt_plain = ("Content-Type: text/plain; charset=utf-8", "Plain version: Grüße.\n")
    alt_html = ("Content-Type: text/html; charset=utf-8", "<html><body><p>HTML version: <b>Grüße</b>.</p></body></html>\n")
    mixed("mp_missing_final", "no closing boundary", "truncating gateways", "no final", [TEXT, pdf], final=False)
    mixed("mp_boundary_in_body", "the boundary string inside a line of the body", src, "boundary in body",
          [("Content-Type: text/plain; charset=utf-8", "This line mentions --=_corpus_b1 in the middle.\nAnd x--=_corpus_b1--y too.\n"), pdf])
    text = head("trailing ws", 'Content-Type: multipart/mixed; boundary="tws"', mid="mp_boundary_trailing_ws") + "\n"
    text += "--tws  \n" + TEXT[0] + "\n\n" + TEXT[1] + "--tws\t\n" + pdf[0] + "\n\n" + pdf[1] + "--tws--  \n"
    add("mp_boundary_trailing_ws", "boundary lines with trailing whitespace (RFC 2046 allows it)", src, crlf(text))
    mixed("mp_preamble_epilogue", "preamble and epilogue text", src, "preamble",
          [alt_plain, pdf], preamble="This is a multi-part message in MIME format.\n\n", epilogue="\nepilogue text that no client shows\n")
    inner = "--=_abc_2\n" + alt_plain[0] + "\n\n" + alt_plain[1] + "--=_abc_2\n" + alt_html[0] + "\n\n" + alt_html[1] + "--=_abc_2--\n"
    mixed("mp_same_prefix", "nested boundaries where one is a prefix of the other", "Outlook", "same prefix",
          [('Content-Type: multipart/alternative; boundary="=_abc_2"', inner), pdf], boundary="=_abc")
    mixed("mp_quoted_boundary_spaces", "quoted boundary with spaces", src, "spaces in boundary", [TEXT, pdf], boundary="a b c")
    add("mp_no_boundary_param", "multipart without a boundary parameter", "broken scripts", crlf(
        head("no boundary", "Content-Type: multipart/mixed", mid="mp_no_boundary_param") + "\nJust text, no parts.\n"))
    add("mp_no_parts", "multipart with a boundary that never occurs", src, crlf(
        head("no parts", 'Content-Type: multipart/mixed; boundary="never"', mid="mp_no_parts") + "\nNo part here.\n"))
    mixed("mp_part_no_headers", "a part with no headers (text/plain by default)", src, "headerless part",
          [("", "Default part text.\n"), pdf])
    add("mp_unterminated_nested", "nested multipart cut off in its second part", "truncated download", crlf(
        head("cut", 'Content-Type: multipart/mixed; boundary="outer"', mid="mp_unterminated_nested") +
        '\n--outer\nContent-Type: multipart/alternative; boundary="inner"\n\n--inner\n' + alt_plain[0] + "\n\n" + alt_plain[1] +
        "--inner\n" + alt_html[0] + "\n\n<html><body><p>cut off here"))

    def nest(depth, name, what):
        text = head(f"nested {depth}", 'Content-Type: multipart/mixed; boundary="n0"', mid=name) + "\n"
        for i in range(depth):
            text += f"--n{i}\n" + (f'Content-Type: multipart/mixed; boundary="n{i + 1}"\n\n' if i + 1 < depth else "")
        text += TEXT[0] + "\n\nDeep text.\n"
        for i in reversed(range(depth)):
            text += f"--n{i}--\n"
        add(name, what, "forward chains and attack mail", crlf(text))

    nest(20, "mp_nested_20", "20 nested multiparts")
    nest(40, "mp_nested_40", "40 nested multiparts, over okapi's depth cap of 32")
    long_b = "=_" + "x" * 100
    mixed("mp_long_boundary", "a 102-character boundary (over RFC 2046's 70)", src, "long boundary", [TEXT, pdf], boundary=long_b)
    mixed("mp_special_boundary", "boundary with = ? ( ) + , characters", src, "special boundary", [TEXT, pdf], boundary="=_?(+,)_=")
    add("mp_duplicate_ctype", "two Content-Type headers", "broken scripts", crlf(
        head("dup ctype", 'Content-Type: text/plain; charset=utf-8\nContent-Type: multipart/mixed; boundary="d"', mid="mp_duplicate_ctype") +
        "\n--d\n" + TEXT[0] + "\n\nFirst.\n--d--\n"))
    mixed("mp_alternative_three", "alternative with plain, enriched and HTML", src, "three alternatives",
          [alt_plain, ("Content-Type: text/enriched; charset=utf-8", "<bold>Enriched</bold>\n"), alt_html], ctype="multipart/alternative")
    mixed("mp_related_html", "related: HTML and a cid image", "Apple Mail", "related",
          [alt_html, ('Content-Type: image/png; name="pic.png"\nContent-ID: <pic1@corpus>\nContent-Transfer-Encoding: base64', b64(PNG))],
          ctype="multipart/related")
    inner_alt = "--alt\n" + alt_plain[0] + "\n\n" + alt_plain[1] + "--alt\n" + alt_html[0] + "\n\n" + alt_html[1] + "--alt--\n"
    mixed("mp_outlook_full", "mixed > (alternative > plain, html) + pdf + png", "Outlook", "full Outlook shape",
          [('Content-Type: multipart/alternative; boundary="alt"', inner_alt), pdf,
           attach(('; name="image001.png"', '; filename="image001.png"'), PNG, "image/png")])
    mixed("mp_inline_text_parts", "several inline text parts in mixed (Apple Mail text with an image between)", "Apple Mail",
          "inline parts", [("Content-Type: text/plain; charset=utf-8", "First part.\n"),
                           attach(('; name="pic.png"', '; filename="pic.png"'), PNG, "image/png", disp="inline"),
                           ("Content-Type: text/plain; charset=utf-8", "Second part.\n")])
    mixed("mp_report_dsn", "multipart/report delivery status notification", "Postfix bounce", "Undelivered Mail Returned to Sender",
          [("Content-Type: text/plain; charset=us-ascii", "I'm sorry to have to inform you that your message could not be delivered.\n"),
           ("Content-Type: message/delivery-status", "Reporting-MTA: dns; mx.example.org\n\nFinal-Recipient: rfc822; nobody@example.com\nAction: failed\nStatus: 5.1.1\n"),
           ("Content-Type: text/rfc822-headers", "From: alice@example.org\nTo: nobody@example.com\nSubject: hello\n")],
          ctype="multipart/report; report-type=delivery-status", frm="MAILER-DAEMON@example.org (Mail Delivery System)")
    mixed("mp_digest", "multipart/digest whose parts default to message/rfc822", "mailing list digests", "digest",
          [("", "From: a@example.org\nSubject: first\n\nOne.\n"), ("", "From: b@example.org\nSubject: second\n\nTwo.\n")],
          ctype="multipart/digest")
    mixed("mp_inline_named_text", "a text part with a filename and inline disposition", "Thunderbird", "inline named",
          [TEXT, ('Content-Type: text/plain; charset=utf-8; name="notes.txt"\nContent-Disposition: inline; filename="notes.txt"', "Notes inline.\n")])
    mixed("mp_attachment_no_name", "attachments without any name", src, "nameless",
          [TEXT, ("Content-Type: application/pdf\nContent-Transfer-Encoding: base64", b64(PDF)),
           ("Content-Type: image/png\nContent-Disposition: attachment\nContent-Transfer-Encoding: base64", b64(PNG))])
    mixed("mp_empty_attachment", "a zero-byte attachment", src, "empty file",
          [TEXT, ('Content-Type: application/octet-stream; name="empty.dat"\nContent-Disposition: attachment; filename="empty.dat"', "")])
    mixed("mp_many_attachments", "60 small attachments", "scanner mailboxes", "many",
          [TEXT] + [attach((f'; name="scan{i:02}.txt"', f'; filename="scan{i:02}.txt"'), bin_data(50 + i, i), "text/plain") for i in range(60)])
    mixed("mp_missing_blank_line", "a part whose headers run straight into the body", "broken scripts", "no blank",
          [("Content-Type: text/plain; charset=utf-8\nBody line right after the header.", "more body\n")])
    mixed("mp_lf_before_boundary_missing", "a boundary with no line break before it", src, "glued boundary",
          [("Content-Type: text/plain; charset=utf-8", "text ends here--=_corpus_b1\n"), pdf])


multipart()


# ---- headers: length, line ends, dates, ids, addresses ---------------------------------------------
def headers():
    src = "RFC 5322 and what the wild sends"
    greek = "Ελληνικά 中文 😀 "
    simple("hdr_subject_5000", "a 5,000-character unfolded subject in Greek, Chinese and emoji (multi-byte)", "spam and generated reports",
           (greek * 400)[:5000])
    simple("hdr_subject_folded_long", "a 3,000-character subject folded into many lines", src,
           "\n ".join(["Folded subject segment %03d" % i for i in range(110)]))
    simple("hdr_to_20000", "a 20,000-byte To: line with 500 addresses", "mass mail", "many recipients",
           to=", ".join(f"User {i} <user{i}@example.com>" for i in range(500)))
    simple("hdr_xheader_100k", "a 100 kB X- header line", "broken filters", "long x-header",
           frm="Alice <alice@example.org>\nX-Filter-Trace: " + "abc" * 34000)
    add("hdr_nul_subject", "a NUL byte in the subject and the body", "binary garbage from scripts",
        crlf(head("before\0after", "Content-Type: text/plain; charset=utf-8", mid="hdr_nul_subject") + "\nbody\0with NUL\n"))
    add("hdr_bare_lf", "bare LF line ends throughout (Unix scripts; LMTP turns them into CRLF)", "sendmail -t from scripts",
        (head("bare LF", "Content-Type: text/plain; charset=utf-8", mid="hdr_bare_lf") + "\nLine one.\nLine two.\n").encode())
    add("hdr_bare_cr", "bare CR line ends throughout (old Mac mailers)", "classic Mac OS",
        (head("bare CR", "Content-Type: text/plain; charset=utf-8", mid="hdr_bare_cr") + "\nLine one.\nLine two.\n").replace("\n", "\r").encode())
    add("hdr_cr_cr_lf", "CR CR LF line ends in the headers (a gateway converting twice)", "Windows gateways",
        crlf(head("double CR", "Content-Type: text/plain; charset=utf-8", mid="hdr_cr_cr_lf") + "\nbody\n").replace(b"\r\n", b"\r\r\n", 3))
    add("hdr_mixed_line_ends", "CRLF headers, bare LF and bare CR inside the body", "gateways", crlf(
        head("mixed ends", "Content-Type: text/plain; charset=utf-8", mid="hdr_mixed_line_ends") + "\n") + b"one\rtwo\nthree\r\n")
    add("hdr_raw_utf8", "raw UTF-8 headers (SMTPUTF8, RFC 6532)", "Gmail SMTPUTF8", crlf(head(
        "Grüße — Привет — 你好 — 👋", "Content-Type: text/plain; charset=utf-8", frm="Jürgen Groß <jürgen@bücher.example>",
        to="Δημήτρης <dimitris@example.gr>", mid="hdr_raw_utf8") + "\nhi\n"))
    add("hdr_raw_latin1", "raw Latin-1 bytes in headers", "old Windows mailers", crlf(head(
        "Grüße aus Österreich", "Content-Type: text/plain; charset=iso-8859-1", frm="Jörg Müller <joerg@example.at>", mid="hdr_raw_latin1") +
        "\nSchöne Grüße\n", "latin-1"))
    simple("hdr_no_date", "no Date: header", src, "no date", date=None)
    simple("hdr_bad_date", "an unreadable Date: header", src, "bad date", date="sometime last week")
    simple("hdr_date_obsolete_zone", "Date: with an obsolete zone name (EST)", "RFC 822 mailers", "EST", date="Tue, 2 Jan 2024 10:00:00 EST")
    simple("hdr_date_two_digit_year", "Date: with a two-digit year", "RFC 822 mailers", "yy", date="Tue, 02 Jan 24 10:00:00 +0000")
    simple("hdr_date_no_weekday", "Date: without weekday, with seconds missing", src, "no weekday", date="2 Jan 2024 10:00 +0200")
    simple("hdr_date_comment", "Date: with a trailing comment", src, "date comment", date="Tue, 02 Jan 2024 10:00:00 -0800 (PST)")
    simple("hdr_no_message_id", "no Message-ID:", src, "no id", mid=False)
    add("hdr_message_id_bare", "Message-ID: without angle brackets", "broken scripts", crlf(
        "From: alice@example.org\nTo: bob@example.com\nSubject: bare id\nDate: Tue, 02 Jan 2024 10:00:00 +0000\n"
        "Message-ID: bare-id-123@example.org\n\nbody\n"))
    add("hdr_message_id_comment", "Message-ID: with a comment and folding", src, crlf(
        "From: alice@example.org\nTo: bob@example.com\nSubject: id comment\nDate: Tue, 02 Jan 2024 10:00:00 +0000\n"
        "Message-ID: (generated)\n <folded-id@example.org>\n\nbody\n"))
    simple("hdr_from_comment", "From: address with a comment name", "RFC 822", "comment name", frm="alice@example.org (Alice Example)")
    simple("hdr_from_multiple", "two addresses in From: (RFC 5322 allows it with Sender:)", src, "two authors",
           frm="Alice <alice@example.org>, Bob <bob@example.org>\nSender: Alice <alice@example.org>")
    simple("hdr_undisclosed", "To: undisclosed-recipients:;", "Bcc-only mail", "undisclosed", to="undisclosed-recipients:;")
    simple("hdr_group_cc", "To and Cc with named groups", src, "groups",
           to="Team: Ann <ann@example.com>, Ben <ben@example.com>;", frm="Alice <alice@example.org>\nCc: Others: carl@example.com;")
    simple("hdr_quoted_names", "display names with commas, quotes and escapes", src, "quoted names",
           to='"Müller, Hans" <hans@example.de>, "O\'Brien \\"Bob\\"" <bob@example.ie>', frm='"Doe, Jane (HR)" <jane@example.com>')
    simple("hdr_angle_only", "address in angle brackets with no name", src, "angle only", frm="<noreply@example.org>", to="<bob@example.com>")
    add("hdr_space_before_colon", "header names with space before the colon", "old mailers", crlf(
        "From : alice@example.org\nTo: bob@example.com\nSubject : spaced colon\nDate: Tue, 02 Jan 2024 10:00:00 +0000\n\nbody\n"))
    add("hdr_no_blank_line_body", "no header/body separator: the body starts with a non-header line", "broken scripts", crlf(
        "From: alice@example.org\nTo: bob@example.com\nSubject: no separator\nThis line is not a header.\nNor this.\n"))
    add("hdr_junk_between_fields", "a line without a colon between header fields", "broken content filters", crlf(
        "Subject: junk line\nX-Filter: scanned\nthis line is no header\nFrom: alice@example.org\nTo: bob@example.com\n"
        "Date: Tue, 02 Jan 2024 10:00:00 +0000\nMessage-ID: <hdr_junk_between_fields@corpus.example.org>\n\nbody\n"))
    add("hdr_continuation_first", "a continuation line before any header", "broken scripts", crlf(
        " leading folded line\nFrom: alice@example.org\nTo: bob@example.com\nSubject: leading fold\n\nbody\n"))
    simple("hdr_empty_subject", "an empty Subject:", src, "")
    simple("hdr_no_subject", "no Subject: header", src, None)
    simple("hdr_control_chars", "tabs and control characters in the subject", src, "tab\there\x07bell\x1bescape")


headers()


# ---- charset labels that lie, and text in many scripts ----------------------------------------------
def body_in(name, what, source, text, charset, label=None, cte="8bit", html=False, subject=None):
    data = text.encode(charset)
    body = {"8bit": lambda d: d.decode("latin-1"), "base64": lambda d: b64(d), "quoted-printable": lambda d: qp(d)}[cte](data)
    ctype = ("text/html" if html else "text/plain") + (f"; charset={label}" if label != "" else "")
    msg = head(subject or name, f"Content-Type: {ctype}\nContent-Transfer-Encoding: {cte}", mid=name) + "\n" + body
    add(name, what, source, crlf(msg, "latin-1"))


def charsets():
    src = "mislabelled mail from real mailers"
    body_in("cs_latin1_as_utf8", "Latin-1 bytes labelled utf-8", src, "Grüße aus Köln, Straße 5\n", "latin-1", "utf-8")
    body_in("cs_utf8_as_latin1", "UTF-8 bytes labelled iso-8859-1", src, "Grüße aus Köln\n", "utf-8", "iso-8859-1")
    body_in("cs_cp1252_as_latin1", "windows-1252 smart quotes and euro labelled iso-8859-1", "Outlook Express",
            "\u201cQuoted\u201d \u2013 it\u2019s \u20ac5\u2026\n", "cp1252", "iso-8859-1")
    body_in("cs_utf8_as_ascii", "UTF-8 labelled us-ascii", src, "naïve café — ok\n", "utf-8", "us-ascii")
    body_in("cs_no_charset_8bit", "8-bit Latin-1 with no charset", src, "Größe: 42\n", "latin-1", "")
    body_in("cs_unknown_label", "an unknown charset label on UTF-8 text", src, "Grüße, 世界\n", "utf-8", "x-unknown-charset")
    body_in("cs_quoted_label", "charset in quotes and odd case", src, "Ärger\n", "utf-8", '"UTF-8"')
    body_in("cs_utf8_no_dash", "charset=utf8 without the dash", src, "Ärger\n", "utf-8", "utf8")
    body_in("cs_gbk_as_gb2312", "GBK-only characters labelled gb2312", "Chinese webmail", "朱镕基 说 你好\n", "gbk", "gb2312")
    body_in("cs_hebrew_visual", "ISO-8859-8 (visual Hebrew)", "Israeli mail", "שלום עולם\n", "iso-8859-8", "iso-8859-8")
    body_in("cs_cp1252_as_ascii", "windows-1252 bytes labelled us-ascii", src, "It\u2019s \u20ac10\n", "cp1252", "us-ascii")

    lang = "text in the world's scripts, as their usual mailers encode it"
    body_in("lang_german_qp", "German, ISO-8859-1, quoted-printable", lang, "Sehr geehrte Damen und Herren,\nanbei die Übersicht für März.\n", "latin-1", "iso-8859-1", "quoted-printable")
    body_in("lang_czech_qp", "Czech, ISO-8859-2, quoted-printable", lang, "Dobrý den,\npříliš žluťoučký kůň úpěl ďábelské ódy.\n", "iso-8859-2", "iso-8859-2", "quoted-printable")
    body_in("lang_czech_cp1250", "Czech, windows-1250, 8bit", lang, "Děkuji, s pozdravem Jiří Šťastný\n", "cp1250", "windows-1250")
    body_in("lang_greek_iso", "Greek, ISO-8859-7, 8bit", lang, "Καλημέρα, τι κάνετε;\n", "iso-8859-7", "iso-8859-7")
    body_in("lang_greek_b64", "Greek, UTF-8, base64", lang, "Αγαπητέ φίλε, ευχαριστώ πολύ.\n", "utf-8", "utf-8", "base64")
    body_in("lang_russian_koi8", "Russian, KOI8-R, 8bit", lang, "Здравствуйте! Высылаю отчёт.\n", "koi8-r", "koi8-r")
    body_in("lang_russian_cp1251", "Russian, windows-1251, base64", lang, "Добрый день, коллеги.\n", "cp1251", "windows-1251", "base64")
    body_in("lang_chinese_gb2312", "Chinese, GB2312, base64", lang, "您好，附件是本月的报告。\n", "gb2312", "gb2312", "base64")
    body_in("lang_chinese_big5", "Traditional Chinese, Big5, 8bit", lang, "您好，這是會議記錄。\n", "big5", "big5")
    body_in("lang_chinese_gb18030", "Chinese, GB18030, 8bit", lang, "谢谢 😀\n", "gb18030", "gb18030")
    body_in("lang_japanese_iso2022", "Japanese, ISO-2022-JP, 7bit", lang, "お世話になっております。\n会議の件です。\n", "iso-2022-jp", "iso-2022-jp", "8bit")
    body_in("lang_japanese_sjis", "Japanese, Shift_JIS, 8bit", lang, "見積書を送付いたします。\n", "shift_jis", "shift_jis")
    body_in("lang_japanese_eucjp", "Japanese, EUC-JP, 8bit", lang, "よろしくお願いします。\n", "euc-jp", "euc-jp")
    body_in("lang_korean_euckr", "Korean, EUC-KR, base64", lang, "안녕하세요. 감사합니다.\n", "euc-kr", "euc-kr", "base64")
    body_in("lang_arabic_cp1256", "Arabic, windows-1256, quoted-printable", lang, "مرحبا، شكرا جزيلا.\n", "cp1256", "windows-1256", "quoted-printable")
    body_in("lang_arabic_html", "Arabic, UTF-8 HTML, dir=rtl", lang,
            '<html dir="rtl"><body><p>السلام عليكم ورحمة الله</p></body></html>\n', "utf-8", "utf-8", "base64", html=True)
    body_in("lang_hebrew_cp1255", "Hebrew, windows-1255, 8bit", lang, "שלום, תודה רבה.\n", "cp1255", "windows-1255")
    body_in("lang_emoji_utf8", "emoji and ZWJ sequences, UTF-8 8bit", lang, "Hi 👋🏽 👨‍👩‍👧‍👦 🇩🇪 ❤️\n", "utf-8", "utf-8")
    body_in("lang_thai_tis620", "Thai, TIS-620, 8bit", lang, "สวัสดีครับ\n", "tis-620", "tis-620")
    body_in("lang_turkish_iso9", "Turkish, ISO-8859-9, quoted-printable", lang, "Teşekkür ederim, İstanbul'dan selamlar.\n", "iso-8859-9", "iso-8859-9", "quoted-printable")
    body_in("lang_utf16", "a UTF-16 text part, base64 (Windows tools)", lang, "Hallo Welt, Grüße\n", "utf-16", "utf-16", "base64")


charsets()


# ---- TNEF, S/MIME, PGP, calendars, forwards -----------------------------------------------------
def special():
    tnef = b"\x78\x9f\x3e\x22" + bin_data(2048, 13)
    mixed("tnef_winmail", "Outlook rich text: winmail.dat (application/ms-tnef)", "Exchange with TNEF on", "TNEF",
          [TEXT, attach(('; name="winmail.dat"', '; filename="winmail.dat"'), tnef, "application/ms-tnef")])
    mixed("tnef_vnd", "TNEF as application/vnd.ms-tnef, no disposition", "Exchange", "TNEF vnd",
          [TEXT, ('Content-Type: application/vnd.ms-tnef; name="winmail.dat"\nContent-Transfer-Encoding: base64', b64(tnef))])
    sig = bin_data(1500, 17)
    mixed("smime_signed", "S/MIME multipart/signed with application/pkcs7-signature", "Outlook, Thunderbird", "signed",
          [("Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable", qp("Signiert: Grüße.\n".encode())),
           attach(('; name="smime.p7s"', '; filename="smime.p7s"'), sig, "application/pkcs7-signature")],
          ctype='multipart/signed; protocol="application/pkcs7-signature"; micalg=sha-256')
    mixed("smime_signed_x", "S/MIME signed with the x-pkcs7-signature type and nested alternative", "older Outlook", "signed x",
          [('Content-Type: multipart/alternative; boundary="alt"', "--alt\nContent-Type: text/plain; charset=utf-8\n\nPlain.\n"
            "--alt\nContent-Type: text/html; charset=utf-8\n\n<p>HTML</p>\n--alt--\n"),
           attach(('; name="smime.p7s"', '; filename="smime.p7s"'), sig, "application/x-pkcs7-signature")],
          ctype='multipart/signed; protocol="application/x-pkcs7-signature"; micalg=sha1')
    env = bin_data(4000, 19)
    add("smime_enveloped", "S/MIME enveloped-data", "Outlook encrypted", crlf(head(
        "encrypted", 'Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name="smime.p7m"\n'
        'Content-Disposition: attachment; filename="smime.p7m"\nContent-Transfer-Encoding: base64', mid="smime_enveloped") + "\n" + b64(env, 64)))
    add("smime_opaque_signed", "S/MIME opaque signed-data (x-pkcs7-mime)", "mobile clients", crlf(head(
        "opaque signed", 'Content-Type: application/x-pkcs7-mime; smime-type=signed-data; name="smime.p7m"\n'
        'Content-Transfer-Encoding: base64', mid="smime_opaque_signed") + "\n" + b64(env[:2000], 64)))
    mixed("pgp_signed", "PGP/MIME signed", "Thunderbird with OpenPGP", "pgp signed",
          [("Content-Type: text/plain; charset=utf-8", "Signed text.\n"),
           ('Content-Type: application/pgp-signature; name="signature.asc"\nContent-Disposition: attachment; filename="signature.asc"',
            "-----BEGIN PGP SIGNATURE-----\n\niQEzBAEBCAAdFiEE\n=abcd\n-----END PGP SIGNATURE-----\n")],
          ctype='multipart/signed; micalg=pgp-sha256; protocol="application/pgp-signature"')
    mixed("pgp_encrypted", "PGP/MIME encrypted", "Thunderbird with OpenPGP", "pgp encrypted",
          [("Content-Type: application/pgp-encrypted", "Version: 1\n"),
           ('Content-Type: application/octet-stream; name="encrypted.asc"', "-----BEGIN PGP MESSAGE-----\n\nhQEMA\n-----END PGP MESSAGE-----\n")],
          ctype='multipart/encrypted; protocol="application/pgp-encrypted"')

    def ics(method, partstat="NEEDS-ACTION", extra=""):
        return ("BEGIN:VCALENDAR\nPRODID:-//corpus//EN\nVERSION:2.0\nMETHOD:%s\nBEGIN:VEVENT\nUID:corpus-1@example.org\n"
                "DTSTART:20240110T090000Z\nDTEND:20240110T100000Z\nSUMMARY:Planungsrunde – Q1\nORGANIZER;CN=Alice:mailto:alice@example.org\n"
                "ATTENDEE;CN=Bob;PARTSTAT=%s;RSVP=TRUE:mailto:bob@example.com\n%sEND:VEVENT\nEND:VCALENDAR\n") % (method, partstat, extra)

    plain = ("Content-Type: text/plain; charset=utf-8", "You are invited: Planungsrunde – Q1\n")
    html = ("Content-Type: text/html; charset=utf-8", "<html><body><p>You are invited: <b>Planungsrunde – Q1</b></p></body></html>\n")
    mixed("cal_outlook", "Outlook invitation: alternative of plain, HTML and text/calendar (base64)", "Outlook / Exchange",
          "Planungsrunde – Q1", [plain, html, ("Content-Type: text/calendar; charset=utf-8; method=REQUEST\nContent-Transfer-Encoding: base64",
                                                b64(crlf(ics("REQUEST"))))], ctype="multipart/alternative")
    alt = ("--alt\n" + plain[0] + "\n\n" + plain[1] + "--alt\n" + html[0] + "\n\n" + html[1] +
           "--alt\nContent-Type: text/calendar; charset=UTF-8; method=REQUEST\nContent-Transfer-Encoding: 7bit\n\n" + ics("REQUEST") + "--alt--\n")
    mixed("cal_google", "Google Calendar invitation: mixed > (alternative > plain, html, calendar) + invite.ics",
          "Google Calendar", "Invitation: Planungsrunde – Q1",
          [('Content-Type: multipart/alternative; boundary="alt"', alt),
           ('Content-Type: application/ics; name="invite.ics"\nContent-Disposition: attachment; filename="invite.ics"\n'
            'Content-Transfer-Encoding: base64', b64(crlf(ics("REQUEST"))))])
    mixed("cal_apple", "Apple Calendar invitation: plain text and an attached .ics with method=REQUEST", "Apple Calendar",
          "Einladung: Planungsrunde", [("Content-Type: text/plain; charset=utf-8", "Einladung\n"),
                                        ('Content-Type: text/calendar; method=REQUEST; name="iCal-20240110-090000.ics"\n'
                                         'Content-Disposition: attachment; filename="iCal-20240110-090000.ics"\nContent-Transfer-Encoding: quoted-printable',
                                         qp(crlf(ics("REQUEST"))))])
    mixed("cal_cancel", "Outlook cancellation", "Outlook / Exchange", "Canceled: Planungsrunde",
          [plain, ("Content-Type: text/calendar; charset=utf-8; method=CANCEL", ics("CANCEL", extra="STATUS:CANCELLED\n"))],
          ctype="multipart/alternative")
    mixed("cal_reply_accepted", "an accepting reply with a folded ATTENDEE line", "Outlook / Exchange", "Accepted: Planungsrunde",
          [("Content-Type: text/calendar; charset=utf-8; method=REPLY", ics("REPLY", "ACCEPTED").replace(";RSVP=TRUE", "\n ;RSVP=TRUE"))],
          ctype="multipart/alternative")

    inner = "From: Bob <bob@example.com>\nTo: Alice <alice@example.org>\nSubject: Original – Grüße\nDate: Mon, 01 Jan 2024 09:00:00 +0000\nMessage-ID: <orig@example.com>\n\nThe original text.\n"
    mixed("fwd_inline", "a forward as message/rfc822", "Thunderbird forward as attachment", "Fwd: Original",
          [TEXT, ("Content-Type: message/rfc822", inner)])
    mixed("fwd_named", "message/rfc822 with a filename (Outlook)", "Outlook", "FW: Original",
          [TEXT, ('Content-Type: message/rfc822; name="Original.eml"\nContent-Disposition: attachment; filename="Original.eml"', inner)])
    mixed("fwd_base64", "message/rfc822 base64-encoded (illegal, Exchange does it)", "Exchange", "Fwd b64",
          [TEXT, ("Content-Type: message/rfc822\nContent-Transfer-Encoding: base64", b64(crlf(inner)))])
    twice = ("From: Carol <carol@example.net>\nSubject: Fwd: Original\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"in\"\n\n"
             "--in\nContent-Type: text/plain\n\nsee below\n--in\nContent-Type: message/rfc822\n\n" + inner + "--in--\n")
    mixed("fwd_nested", "a forward of a forward", "forward chains", "Fwd: Fwd: Original", [TEXT, ("Content-Type: message/rfc822", twice)])
    mixed("fwd_8bit_headers", "an embedded message with raw UTF-8 headers", "SMTPUTF8", "Fwd 8bit",
          [TEXT, ("Content-Type: message/rfc822\nContent-Transfer-Encoding: 8bit",
                  "From: Zoë <zoe@example.se>\nSubject: Ärger mit dem Drucker\n\nText.\n")])
    mixed("fwd_global", "message/global (RFC 6532)", "RFC 6532", "Fwd global",
          [TEXT, ("Content-Type: message/global", "From: 王 <wang@example.cn>\nSubject: 你好\n\n你好。\n")])


special()


def main():
    names = set()
    for name, data, what, source in MESSAGES:
        names.add(name + ".eml")
        with open(os.path.join(HERE, name + ".eml"), "wb") as f:
            f.write(data)
    for old in os.listdir(HERE):
        if old.endswith(".eml") and old not in names:
            os.remove(os.path.join(HERE, old))
    with open(os.path.join(HERE, "INDEX.tsv"), "w", encoding="utf-8", newline="\n") as f:
        f.write("# file\twhat it exercises\twhere the shape comes from\n")
        for name, _, what, source in sorted(MESSAGES):
            f.write(f"{name}.eml\t{what}\t{source}\n")
    print(f"{len(MESSAGES)} messages written to {HERE}")


if __name__ == "__main__":
    main()
