#!/usr/bin/env python3
# Writes tests/radius/vectors/*.txt. The authenticators, hidden passwords and
# Message-Authenticators of the constructed vectors are computed here with
# Python's hashlib/hmac, independently of the C++ code under test.
# The RFC 2865 section 7 packets are copied from the RFC.
import hashlib, hmac, struct, os, textwrap
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vectors")
SEC = b"xyzzy5461"
def md5(b): return hashlib.md5(b).digest()
def a(t, v): return bytes([t, len(v)+2]) + v
def u32(x): return struct.pack(">I", x)
def vsa(vendor, t, v): return a(26, u32(vendor) + bytes([t, len(v)+2]) + v)
def pkt(code, ident, auth, attrs):
    body = b"".join(attrs)
    return bytes([code, ident]) + struct.pack(">H", 20+len(body)) + auth + body
def resp_auth(p, reqauth, sec=SEC): return md5(p[:4] + reqauth + p[20:] + sec)
def set_auth(p, auth): return p[:4] + auth + p[20:]
def ma_fill(p, in_place, sec=SEC):
    # Message-Authenticator assumed first attribute
    assert p[20] == 80
    z = p[:4] + in_place + p[20:22] + bytes(16) + p[38:]
    m = hmac.new(sec, z, hashlib.md5).digest()
    return p[:22] + m + p[38:]
def hide(pw, reqauth, sec=SEC):
    pw = pw + bytes((16 - len(pw) % 16) % 16) if pw else bytes(16)
    out = b""; prev = reqauth
    for i in range(0, len(pw), 16):
        b = md5(sec + prev); c = bytes(x ^ y for x, y in zip(pw[i:i+16], b)); out += c; prev = c
    return out
def hexlines(b):
    h = b.hex()
    return "\n".join("hex: " + " ".join(h[i:i+2] for i in range(j, min(j+32, len(h)), 2)) for j in range(0, len(h), 32)) if h else "hex:"
def write(name, comment, data, expect="ok", extra=()):
    lines = ["# " + l for l in comment.strip().split("\n")]
    lines.append(hexlines(data))
    lines.append("expect: " + expect)
    lines += list(extra)
    open(os.path.join(OUT, name + ".txt"), "w").write("\n".join(lines) + "\n")
def hdr(p): return [f"code: {p[0]}", f"id: {p[1]}", f"auth: {p[4:20].hex()}"]

# --- RFC 2865 section 7.1 (verified: the password unhides and the Accept's authenticator matches)
req = bytes.fromhex("0100003 80f403f9473978057bd83d5cb98f4227a01066e656d6f02120dbe708d93d413ce3196e43f782a0aee0406c0a8011005060000000 3".replace(" ",""))
acc = bytes.fromhex("0200002686fe220e7624ba2a1005f6bf9b55e0b2060600000001 0f0600000000 0e06c0a80103".replace(" ",""))
write("rfc2865_7_1_access_request", "RFC 2865 section 7.1: Access-Request for nemo (secret xyzzy5461, password arctangent)", req,
      extra=hdr(req) + ['attr: User-Name = "nemo"', "attr: User-Password = 0x" + req[28:44].hex(),
                        "attr: NAS-IP-Address = 192.168.1.16", "attr: NAS-Port = 3",
                        "secret: xyzzy5461", "password: arctangent"])
write("rfc2865_7_1_access_accept", "RFC 2865 section 7.1: the Access-Accept answering it", acc,
      extra=hdr(acc) + ["attr: Service-Type = Login-User", "attr: Login-Service = Telnet", "attr: Login-IP-Host = 192.168.1.3",
                        "secret: xyzzy5461", "request-auth: " + req[4:20].hex()])
# --- RFC 2865 section 7.2 (decode only: the CHAP password is not given)
req2 = bytes.fromhex("010100472aee86f08d0d55969ca5978e0d3367a20108666c6f70737903131 6e97557c3161858 95f293ff63440772750406c0a80110050600000014060600000002070600000001".replace(" ",""))
write("rfc2865_7_2_chap_request", "RFC 2865 section 7.2: Access-Request with CHAP-Password (decode only)", req2,
      extra=hdr(req2) + ['attr: User-Name = "flopsy"', "attr: CHAP-Password = 0x" + req2[30:47].hex(),
                         "attr: NAS-IP-Address = 192.168.1.16", "attr: NAS-Port = 20",
                         "attr: Service-Type = Framed-User", "attr: Framed-Protocol = PPP"])

# --- constructed vectors (authenticators computed here with Python's hashlib/hmac)
ra = bytes(range(0x10, 0x20))
chal = bytes.fromhex("a1b2c3d4e5f60718293a4b5c6d7e8f90")
chap = bytes([7]) + md5(bytes([7]) + b"s3cret" + chal)
p = pkt(1, 42, ra, [a(80, bytes(16)), a(1, b"alice"), a(60, chal), a(3, chap), a(4, bytes([10,0,0,1])), a(61, u32(19)),
                    a(30, b"00-11-22-33-44-55:hotspot"), a(31, b"66-77-88-99-AA-BB"), a(32, b"ap-1")])
p = ma_fill(p, ra)
write("access_request_chap_message_authenticator", "Access-Request: CHAP with CHAP-Challenge, Message-Authenticator (secret xyzzy5461)", p,
      extra=hdr(p) + ["attr: Message-Authenticator = 0x" + p[22:38].hex(), 'attr: User-Name = "alice"',
                      "attr: CHAP-Challenge = 0x" + chal.hex(), "attr: CHAP-Password = 0x" + chap.hex(),
                      "attr: NAS-IP-Address = 10.0.0.1", "attr: NAS-Port-Type = Wireless-802.11",
                      'attr: Called-Station-Id = "00-11-22-33-44-55:hotspot"', 'attr: Calling-Station-Id = "66-77-88-99-AA-BB"',
                      'attr: NAS-Identifier = "ap-1"', "secret: xyzzy5461", "chap-password: s3cret", "message-authenticator: required"])
reqauth = p[4:20]
r = pkt(2, 42, bytes(16), [a(80, bytes(16)), a(27, u32(3600)), a(28, u32(300)), a(85, u32(60)), a(25, b"plan=gold"),
                          vsa(14988, 8, b"2M/4M"), vsa(14988, 17, u32(1000000000)), vsa(14988, 18, u32(1)),
                          vsa(14122, 4, b"http://portal.example/"), vsa(14122, 7, u32(2000000)), vsa(14122, 8, u32(4000000)),
                          vsa(14559, 1, u32(500)), vsa(14559, 2, u32(600)), vsa(14559, 3, u32(700))])
r = ma_fill(r, reqauth); r = set_auth(r, resp_auth(r, reqauth))
write("access_accept_vendor_quota", "Access-Accept answering access_request_chap_message_authenticator:\nMessage-Authenticator first, Mikrotik/WISPr/ChilliSpot quota attributes", r,
      extra=hdr(r) + ["attr: Message-Authenticator = 0x" + r[22:38].hex(), "attr: Session-Timeout = 3600", "attr: Idle-Timeout = 300",
                      "attr: Acct-Interim-Interval = 60", "attr: Class = 0x" + b"plan=gold".hex(),
                      'attr: Mikrotik-Rate-Limit = "2M/4M"', "attr: Mikrotik-Total-Limit = 1000000000", "attr: Mikrotik-Total-Limit-Gigawords = 1",
                      'attr: WISPr-Redirection-URL = "http://portal.example/"', "attr: WISPr-Bandwidth-Max-Up = 2000000",
                      "attr: WISPr-Bandwidth-Max-Down = 4000000", "attr: ChilliSpot-Max-Input-Octets = 500",
                      "attr: ChilliSpot-Max-Output-Octets = 600", "attr: ChilliSpot-Max-Total-Octets = 700",
                      "secret: xyzzy5461", "request-auth: " + reqauth.hex(), "message-authenticator: required"])
# Access-Request with a 20-octet password (two blocks)
ra3 = bytes.fromhex("00112233445566778899aabbccddeeff")
hp = hide(b"correct horse battery", ra3)
p = pkt(1, 3, ra3, [a(1, b"bob"), a(2, hp), a(5, u32(0))])
write("access_request_password_two_blocks", "Access-Request: 21-octet password hidden in two blocks (secret xyzzy5461)", p,
      extra=hdr(p) + ['attr: User-Name = "bob"', "attr: User-Password = 0x" + hp.hex(), "attr: NAS-Port = 0",
                      "secret: xyzzy5461", "password: correct horse battery"])
# Accounting
def acct(ident, attrs, code=4):
    p = pkt(code, ident, bytes(16), attrs); return set_auth(p, md5(p + SEC))
p = acct(9, [a(40, u32(1)), a(44, b"5f3e-0001"), a(1, b"alice"), a(4, bytes([10,0,0,1])), a(8, bytes([100,64,0,7])),
             a(55, u32(1700000000)), a(25, b"plan=gold"), a(45, u32(1)), a(41, u32(0))])
write("accounting_start", "Accounting-Request Start (Request Authenticator over 16 zero octets, secret xyzzy5461)", p,
      extra=hdr(p) + ["attr: Acct-Status-Type = Start", 'attr: Acct-Session-Id = "5f3e-0001"', 'attr: User-Name = "alice"',
                      "attr: NAS-IP-Address = 10.0.0.1", "attr: Framed-IP-Address = 100.64.0.7", "attr: Event-Timestamp = 1700000000",
                      "attr: Class = 0x" + b"plan=gold".hex(), "attr: Acct-Authentic = RADIUS", "attr: Acct-Delay-Time = 0",
                      "secret: xyzzy5461"])
acct_start = p
p = acct(10, [a(40, u32(3)), a(44, b"5f3e-0001"), a(1, b"alice"), a(42, u32(123456789)), a(43, u32(4000000000)), a(52, u32(0)),
              a(53, u32(2)), a(47, u32(1000)), a(48, u32(3000)), a(46, u32(600)), a(55, u32(1700000600))])
write("accounting_interim_gigawords", "Accounting-Request Interim-Update with Gigawords (secret xyzzy5461)", p,
      extra=hdr(p) + ["attr: Acct-Status-Type = Interim-Update", 'attr: Acct-Session-Id = "5f3e-0001"', 'attr: User-Name = "alice"',
                      "attr: Acct-Input-Octets = 123456789", "attr: Acct-Output-Octets = 4000000000", "attr: Acct-Input-Gigawords = 0",
                      "attr: Acct-Output-Gigawords = 2", "attr: Acct-Input-Packets = 1000", "attr: Acct-Output-Packets = 3000",
                      "attr: Acct-Session-Time = 600", "attr: Event-Timestamp = 1700000600", "secret: xyzzy5461"])
p = acct(11, [a(40, u32(2)), a(44, b"5f3e-0001"), a(46, u32(1200)), a(49, u32(1)),
              vsa(9, 1, b"crb-terminate-cause=11"), vsa(9, 1, b"crb-total-volume=5000000")])
write("accounting_stop_cisco_avpair", "Accounting-Request Stop with Cisco-AVPair crb-* (Cisco Prime AR prepaid names)", p,
      extra=hdr(p) + ["attr: Acct-Status-Type = Stop", 'attr: Acct-Session-Id = "5f3e-0001"', "attr: Acct-Session-Time = 1200",
                      "attr: Acct-Terminate-Cause = User-Request", 'attr: Cisco-AVPair = "crb-terminate-cause=11"',
                      'attr: Cisco-AVPair = "crb-total-volume=5000000"', "secret: xyzzy5461"])
r = pkt(5, 9, bytes(16), []); r = set_auth(r, resp_auth(r, acct_start[4:20]))
write("accounting_response", "Accounting-Response answering accounting_start", r,
      extra=hdr(r) + ["secret: xyzzy5461", "request-auth: " + acct_start[4:20].hex()])
p = acct(20, [a(1, b"alice"), a(44, b"5f3e-0001"), vsa(14988, 8, b"512k/1M"), a(27, u32(120))], code=43)
write("coa_request_rate_limit", "CoA-Request changing the Mikrotik rate limit (secret xyzzy5461)", p,
      extra=hdr(p) + ['attr: User-Name = "alice"', 'attr: Acct-Session-Id = "5f3e-0001"', 'attr: Mikrotik-Rate-Limit = "512k/1M"',
                      "attr: Session-Timeout = 120", "secret: xyzzy5461"])
coa = p
r = pkt(42, 21, bytes(16), [a(101, u32(503))]); 
dm = acct(21, [a(1, b"carol"), a(44, b"dead-beef")], code=40)
r = set_auth(r, resp_auth(r, dm[4:20]))
write("disconnect_request", "Disconnect-Request (secret xyzzy5461)", dm,
      extra=hdr(dm) + ['attr: User-Name = "carol"', 'attr: Acct-Session-Id = "dead-beef"', "secret: xyzzy5461"])
write("disconnect_nak_session_not_found", "Disconnect-NAK with Error-Cause Session-Context-Not-Found, answering disconnect_request", r,
      extra=hdr(r) + ["attr: Error-Cause = Session-Context-Not-Found", "secret: xyzzy5461", "request-auth: " + dm[4:20].hex()])
# one VSA carrying two sub-attributes: decodes to two, re-encodes as two VSAs
two = a(26, u32(14122) + bytes([7, 6]) + u32(1000) + bytes([8, 6]) + u32(2000))
p = pkt(2, 5, bytes(16), [two])
write("vsa_two_subattributes", "Access-Accept: one WISPr Vendor-Specific holding two sub-attributes\n(encode() writes one VSA per attribute, so the bytes differ)", p,
      extra=hdr(p) + ["attr: WISPr-Bandwidth-Max-Up = 1000", "attr: WISPr-Bandwidth-Max-Down = 2000", "reencode: differs"])
# unknown vendor whose layout is not RFC 2865 (USR style 4-octet type): kept raw
usr = a(26, u32(429) + u32(0x0000a001) + b"xyz")
p = pkt(4, 6, bytes(16), [a(40, u32(1)), usr])
write("vsa_unknown_layout_kept_raw", "Accounting-Request with a USR-style VSA (vendor 429, 4-octet type): not RFC layout,\nvendor not in kRfcLayoutVendors, kept whole as Vendor-Specific", p,
      extra=hdr(p) + ["attr: Acct-Status-Type = Start", "attr: Vendor-Specific = 0x" + usr[2:].hex()])
# unknown vendor with RFC layout: split, printed numerically
p = pkt(2, 6, bytes(16), [vsa(5535, 90, b"\x01\x02")])
write("vsa_unknown_vendor_rfc_layout", "Access-Accept with a VSA of a vendor not in the dictionary (3GPP2, 5535): split, printed numerically", p,
      extra=hdr(p) + ["attr: Vendor-5535-Attr-90 = 0x0102"])
p = pkt(12, 200, bytes(range(16)), [a(80, bytes(16))]); p = ma_fill(p, p[4:20])
write("status_server", "Status-Server with Message-Authenticator (secret xyzzy5461)", p,
      extra=hdr(p) + ["attr: Message-Authenticator = 0x" + p[22:38].hex(), "secret: xyzzy5461", "message-authenticator: required"])
p = pkt(2, 1, bytes(16), [a(18, b"")])
write("empty_attribute", "Access-Accept with an empty Reply-Message (Length 2 is accepted)", p,
      extra=hdr(p) + ['attr: Reply-Message = ""'])
p = pkt(2, 1, bytes(16), [a(18, b"hi")]) + b"\xde\xad\xbe\xef"
write("trailing_octets_ignored", "Access-Accept followed by 4 octets beyond Length: ignored (RFC 2865 section 3)", p,
      extra=hdr(p) + ['attr: Reply-Message = "hi"'])
p = pkt(3, 0, bytes(16), [])
write("header_only", "Access-Reject with no attributes: exactly 20 octets", p, extra=hdr(p))
big = pkt(4, 1, bytes(16), [a(44, b"x" * 253)] * 15 + [a(44, b"z" * 249)])
assert len(big) == 4096
write("max_size_4096", "Accounting-Request of exactly 4096 octets, the largest allowed", big,
      extra=hdr(big) + ['attr: Acct-Session-Id = "' + "x" * 253 + '"'] * 15 + ['attr: Acct-Session-Id = "' + "z" * 249 + '"'])

# --- failures, one or more per DecodeError
write("err_empty", "empty datagram", b"", "TooShort")
write("err_too_short_19", "19 octets: one short of a header", pkt(1, 0, bytes(16), [])[:19], "TooShort")
def raw(code, length, body, auth=bytes(16)): return bytes([code, 0]) + struct.pack(">H", length) + auth + body
write("err_length_below_header", "Length 19", raw(1, 19, b""), "LengthMismatch")
write("err_length_zero", "Length 0", raw(1, 0, b"\x01\x03a"), "LengthMismatch")
write("err_length_beyond_datagram", "Length 30, datagram 26", raw(1, 30, a(1, b"nemo")), "LengthMismatch")
write("err_length_above_4096", "Length 4097 (datagram longer still)", raw(4, 4097, a(44, b"y" * 253) * 16 + a(44, b"y"*23) + b"\x00"), "LengthMismatch")
write("err_unknown_code_0", "code 0", raw(0, 20, b""), "UnknownCode")
write("err_unknown_code_6", "code 6 (Accounting-Status, obsolete)", raw(6, 20, b""), "UnknownCode")
write("err_unknown_code_255", "code 255 (reserved)", raw(255, 20, b""), "UnknownCode")
write("err_attribute_length_0", "attribute Length 0 (would loop forever)", raw(1, 26, b"\x01\x00abcd"), "AttributeTooShort")
write("err_attribute_length_1", "attribute Length 1", raw(1, 26, a(1, b"ab") + b"\x05\x01"), "AttributeTooShort")
write("err_attribute_overrun", "attribute Length 10 with 6 octets left", raw(1, 26, b"\x01\x0aabcd"), "AttributeOverrun")
write("err_attribute_header_cut", "one octet left after the last attribute", raw(1, 25, a(1, b"ab") + b"\x05"), "AttributeOverrun")
write("err_attribute_overrun_into_trailer", "attribute runs past Length into octets beyond it (still an overrun)",
      raw(1, 24, b"\x01\x06abcd"), "AttributeOverrun")
write("err_vsa_no_vendor_id", "Vendor-Specific of Length 5", raw(1, 25, b"\x1a\x05\x00\x00\x09"), "VendorSpecificMalformed")
write("err_vsa_vendor_id_only", "Vendor-Specific of Length 6: Vendor-Id and nothing else", raw(1, 26, b"\x1a\x06\x00\x00\x00\x09"), "VendorSpecificMalformed")
bad = a(26, u32(9) + bytes([1, 20]) + b"crb")
write("err_vsa_cisco_sub_overrun", "Cisco VSA whose sub-attribute claims 20 octets in 5", raw(2, 20 + len(bad), bad), "VendorSpecificMalformed")
bad = a(26, u32(14988) + bytes([8, 1]) + b"x")
write("err_vsa_mikrotik_sub_length_1", "Mikrotik VSA with sub-attribute Length 1", raw(2, 20 + len(bad), bad), "VendorSpecificMalformed")
bad = a(26, u32(14559) + bytes([1, 6]) + u32(5) + b"\x02")
write("err_vsa_chillispot_trailing_octet", "ChilliSpot VSA with one stray octet after its sub-attribute", raw(2, 20 + len(bad), bad), "VendorSpecificMalformed")
