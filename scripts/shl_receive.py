#!/usr/bin/env python3
"""A SMART Health Link receiver written from the specification alone (HL7 SMART Health Cards and
Links IG, STU1, "Receiving a SMART Health Link"), with a JWE library Medkey's own code does not
use (jwcrypto). It shares nothing with Medkey but the wire format, so a test that passes with it
shows Medkey speaks the standard rather than agreeing with itself.

    shl_receive.py LINK --recipient NAME [--passcode CODE]

LINK is `shlink:/…` or any URL whose fragment holds it (a viewer link). Prints, as JSON, each file's
content type and its decrypted content (parsed when it is JSON). Exit codes: 0 received,
3 refused (the HTTP status and body on stderr), 2 bad usage or a malformed link.
"""

import argparse
import base64
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

from jwcrypto import jwe, jwk


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def payload_of(link: str) -> dict:
    # The link itself, or a viewer URL carrying it after '#'.
    if "#" in link:
        link = link.split("#", 1)[1]
    if not link.startswith("shlink:/"):
        raise ValueError("not a SMART Health Link (no shlink:/)")
    payload = json.loads(b64url_decode(link[len("shlink:/"):]))
    key = b64url_decode(payload["key"])
    if len(payload["key"]) != 43 or len(key) != 32:
        raise ValueError("the key is not 32 bytes as 43 base64url characters")
    return payload


def request(method: str, url: str, body: dict | None = None) -> tuple[int, bytes]:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"content-type": "application/json"} if body is not None else {}
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def decrypt(compact: str, key: bytes) -> tuple[str | None, bytes]:
    token = jwe.JWE()
    token.deserialize(compact)
    header = json.loads(token.objects["protected"])
    if header.get("alg") != "dir" or header.get("enc") != "A256GCM":
        raise ValueError(f"unexpected JWE header {header}")
    token.decrypt(jwk.JWK(kty="oct", k=base64.urlsafe_b64encode(key).rstrip(b"=").decode()))
    return header.get("cty"), token.payload


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("link")
    parser.add_argument("--recipient", required=True)
    parser.add_argument("--passcode")
    args = parser.parse_args()
    try:
        payload = payload_of(args.link)
    except (ValueError, KeyError, json.JSONDecodeError) as err:
        print(f"malformed link: {err}", file=sys.stderr)
        return 2
    flags = payload.get("flag", "")
    key = b64url_decode(payload["key"])
    if "U" in flags:
        # One file, fetched directly.
        status, body = request("GET", f"{payload['url']}?recipient={urllib.parse.quote(args.recipient)}")
        if status != 200:
            print(f"refused: {status} {body.decode(errors='replace')}", file=sys.stderr)
            return 3
        entries = [{"contentType": "application/fhir+json", "embedded": body.decode()}]
    else:
        manifest_request = {"recipient": args.recipient}
        if "P" in flags:
            manifest_request["passcode"] = args.passcode or ""
        status, body = request("POST", payload["url"], manifest_request)
        if status != 200:
            print(f"refused: {status} {body.decode(errors='replace')}", file=sys.stderr)
            return 3
        entries = json.loads(body)["files"]
    files = []
    for entry in entries:
        compact = entry.get("embedded")
        if compact is None:
            status, fetched = request("GET", entry["location"])
            if status != 200:
                print(f"refused: file {status} {fetched.decode(errors='replace')}", file=sys.stderr)
                return 3
            compact = fetched.decode()
        content_type, plaintext = decrypt(compact, key)
        try:
            content = json.loads(plaintext)
        except ValueError:
            content = plaintext.decode(errors="replace")
        files.append({"contentType": entry["contentType"], "cty": content_type, "content": content})
    print(json.dumps({"label": payload.get("label"), "flag": flags, "files": files}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
