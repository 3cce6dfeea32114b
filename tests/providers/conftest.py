"""Provider fixtures: a scripted gateway, and the contract every request body must meet."""

import datetime
import ipaddress
import json
import ssl
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from jsonschema import Draft202012Validator

from .scripted import ScriptedGateway

SCHEMA = json.loads(
    (Path(__file__).parents[1] / "contracts" / "openai-chat-completions.schema.json").read_text()
)
REQUEST_CONTRACT = Draft202012Validator({**SCHEMA, "$ref": "#/$defs/CreateChatCompletionRequest"})
CHUNK_CONTRACT = Draft202012Validator({**SCHEMA, **SCHEMA["stream_chunk"]})
ERROR_CONTRACT = Draft202012Validator({**SCHEMA, **SCHEMA["error"]})


@pytest.fixture
async def gateway():
    """A local gateway answering with scripted responses (recorded streams, error bodies)."""
    server = ScriptedGateway()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def keep_alive_gateway():
    """The same, keeping connections open between answers as real gateways do."""
    server = ScriptedGateway(keep_alive=True)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture(autouse=True)
def request_bodies_follow_the_contract(request):
    """Every body the client sent to a test server must be a valid Chat Completions request."""
    yield
    for name in ("simulator", "gateway", "keep_alive_gateway"):
        server = request.node.funcargs.get(name)
        for received in getattr(server, "received", ()):
            if received.body is not None:
                REQUEST_CONTRACT.validate(received.body)


@dataclass(frozen=True)
class TlsCertificates:
    """A certificate authority of the tests' own and a certificate it signed for 127.0.0.1."""

    authority: Path
    certificate: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.certificate, self.key)
        return context


def _pem(path: Path, certificate: x509.Certificate) -> Path:
    path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return path


@pytest.fixture(scope="session")
def tls_certificates(tmp_path_factory) -> TlsCertificates:
    """Made once per run: no client trusts the authority unless a test says so."""
    now = datetime.datetime.now(datetime.UTC)
    valid = {"not_valid_before": now - datetime.timedelta(days=1)}
    valid["not_valid_after"] = now + datetime.timedelta(days=2)
    authority_key = ec.generate_private_key(ec.SECP256R1())
    authority_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "chatapp test CA")])
    authority = (
        x509.CertificateBuilder(subject_name=authority_name, issuer_name=authority_name, **valid)
        .public_key(authority_key.public_key())
        .serial_number(x509.random_serial_number())
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(authority_key.public_key()), critical=False
        )
        .sign(authority_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = (
        x509.CertificateBuilder(
            subject_name=x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]),
            issuer_name=authority_name,
            **valid,
        )
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(authority_key.public_key()),
            critical=False,
        )
        .sign(authority_key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return TlsCertificates(
        authority=_pem(folder / "ca.pem", authority),
        certificate=_pem(folder / "cert.pem", certificate),
        key=folder / "key.pem",
    )
