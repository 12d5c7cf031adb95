"""The benchmark's bare signature check agrees with the full verification on good and broken
messages (so that the two loops do comparable work)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from comptoir.b2g.as4 import TOKEN_PKIPATH, TOKEN_X509V3, as4_message_parse, as4_verify
from comptoir.b2g.as4_baseline import as4_baseline_verify
from comptoir.b2g.as4_sign import OutgoingAttachment, as4_envelope_build, as4_message_sign
from tests.b2g.test_as4 import _chain


@pytest.mark.parametrize("token_type", [TOKEN_PKIPATH, TOKEN_X509V3])
@pytest.mark.parametrize("kind", ["rsa", "ec"])
def test_baseline_agrees_with_the_full_check(kind, token_type):
    if kind == "rsa":
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    else:
        key = ec.generate_private_key(ec.SECP256R1())
    attachments = [OutgoingAttachment(content_id="a@t", content=b"payload")]
    envelope = as4_envelope_build(
        from_party_id="FR552100554", attachments=attachments, body_xml=b"<x>1</x>"
    )
    signed = as4_message_sign(
        envelope=envelope,
        key=key,
        certificates=_chain(key),
        attachments=attachments,
        token_type=token_type,
    )
    message = as4_message_parse(signed.body)
    parts = {a.content_id: a.content for a in message.attachments}
    assert as4_verify(signed.body).status == "valid"
    assert as4_baseline_verify(message.soap_xml, parts) is True
    tampered = message.soap_xml.replace(b"<x>1</x>", b"<x>2</x>")
    assert as4_baseline_verify(tampered, parts) is False
    assert as4_baseline_verify(message.soap_xml, {"a@t": b"other"}) is False
