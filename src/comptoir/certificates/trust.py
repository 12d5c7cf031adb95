"""The trust policy: does a certificate chain to a CA on the EU trusted lists (ETSI TS 119 612)
or on the administration's alternate list, and is it qualified?

Loading (``trusted_lists_refresh``) reads the lists named in the settings (files or URLs),
checks their XAdES signatures (a national list against the certificates the EU list of the
lists publishes for its territory, the EU list of the lists against pyHanko's bundled signer
certificates or the ones in ``COMPTOIR_TRUSTED_LISTS_LOTL_SIGNERS``) at
``COMPTOIR_TRUSTED_LISTS_VERIFY_AT`` (default: now), and keeps the verified XML in the Django
cache: the snapshot under ``CACHE_KEY:<version>`` (the version is a digest of the contents) and
the current version under ``VERSION_KEY``. Each check reads only the version; each process parses
the cached XML into pyHanko's ``TSPRegistry`` once per version (``trust_store``).

Checking (``trust_check``) builds and validates the chain with pyhanko-certvalidator, the
trusted-list CA services and the alternate CA certificates being the trust anchors, then asks
pyHanko's ``QualificationAssessor`` whether the certificate is qualified (its QcStatements
together with the service's qualifiers on the list). See docs/certificates.md."""

from __future__ import annotations

import hashlib
import logging
import threading
import urllib.request
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from pyhanko.keys import load_certs_from_pemder_data
from pyhanko.sign.validation.qualified import eutl_parse
from pyhanko.sign.validation.qualified.assess import QualificationAssessor
from pyhanko.sign.validation.qualified.tsp import (
    CAServiceInformation,
    QcCertType,
    TSPRegistry,
    TSPTrustManager,
)
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.authority import Authority, AuthorityWithCert, TrustAnchor
from pyhanko_certvalidator.errors import (
    DisallowedAlgorithmError,
    ExpiredError,
    NotYetValidError,
    PathBuildingError,
    PathValidationError,
    ValidationError,
)
from pyhanko_certvalidator.path import ValidationPath
from pyhanko_certvalidator.registry import SimpleTrustManager, TrustManager

from comptoir.certificates.inspect import (
    PURPOSE_SEAL,
    certificate_der,
    certificate_fit_for,
    certificate_validity_at,
    qc_statements,
)
from comptoir.core.sync import run_coroutine

logger = logging.getLogger(__name__)

#: Bump the suffix when the shape of the cached snapshot changes.
CACHE_KEY = "certificates:trusted-lists:v1"
VERSION_KEY = f"{CACHE_KEY}:version"
LOTL_TYPE = "http://uri.etsi.org/TrstSvc/TrustedList/TSLType/EUlistofthelists"
FETCH_TIMEOUT_SECONDS = 30
MAX_LIST_BYTES = 20 * 1024 * 1024
_CERT_SUFFIXES = (".pem", ".crt", ".cer", ".der")

# --- pyHanko internals -------------------------------------------------------------------------
# pyHanko's public trust_list_to_registry() checks a list's signature at "now" only; the corpus
# (and any archived list) needs a point in time, so we call the two helpers it is built on.
# Both are in pyhanko/sign/validation/qualified/eutl_parse.py (pyHanko 0.38).
_verified_tl_payload = eutl_parse._validate_and_extract_tl_data_multiple_certs
_parse_tl_document = eutl_parse._raw_tl_parse


class TrustedListError(Exception):
    """A list could not be read, verified or parsed (the message names the location)."""


# --- settings ------------------------------------------------------------------------------------


def _setting_list(name: str) -> list[str]:
    value = getattr(settings, name, None) or []
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return [str(part) for part in value]


def _verify_at() -> datetime | None:
    value = getattr(settings, "COMPTOIR_TRUSTED_LISTS_VERIFY_AT", None)
    if not value:
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        parsed = parse_datetime(str(value))
        if parsed is None:
            raise TrustedListError(f"COMPTOIR_TRUSTED_LISTS_VERIFY_AT: not a date: {value!r}")
        moment = parsed
    return moment if timezone.is_aware(moment) else moment.replace(tzinfo=UTC)


def qualified_only() -> bool:
    return bool(getattr(settings, "COMPTOIR_TRUST_QUALIFIED_ONLY", False))


# --- reading -------------------------------------------------------------------------------------


def _is_url(location: str) -> bool:
    return location.startswith(("https://", "http://"))


def _read_bytes(location: str) -> bytes:
    if _is_url(location):
        request = urllib.request.Request(location, headers={"User-Agent": "Comptoir"})  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT_SECONDS) as response:  # noqa: S310
                data: bytes = response.read(MAX_LIST_BYTES + 1)
        except OSError as exc:
            raise TrustedListError(f"{location}: could not download: {exc}") from exc
        if len(data) > MAX_LIST_BYTES:
            raise TrustedListError(f"{location}: larger than {MAX_LIST_BYTES} bytes")
        return data
    try:
        return Path(location).read_bytes()
    except OSError as exc:
        raise TrustedListError(f"{location}: could not read: {exc}") from exc


def _read_text(location: str) -> str:
    data = _read_bytes(location)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TrustedListError(f"{location}: not UTF-8 XML") from exc


@dataclass(frozen=True)
class _ListHead:
    kind: str  # "lotl" or "tl"
    territory: str
    sequence: int | None
    issued: str
    next_update: str


def _head(location: str, xml: str) -> _ListHead:
    try:
        document = _parse_tl_document(xml)
    except Exception as exc:  # xsdata raises several types for malformed input
        raise TrustedListError(f"{location}: not an ETSI TS 119 612 list: {exc}") from exc
    info = document.scheme_information
    if info is None:
        raise TrustedListError(f"{location}: no scheme information")
    list_type = info.tsltype.value if info.tsltype is not None else ""
    next_update = ""
    if info.next_update is not None and info.next_update.date_time is not None:
        next_update = info.next_update.date_time.to_datetime().isoformat()
    return _ListHead(
        kind="lotl" if list_type == LOTL_TYPE else "tl",
        territory=str(info.scheme_territory.value) if info.scheme_territory else "",
        sequence=int(info.tslsequence_number) if info.tslsequence_number is not None else None,
        issued=(
            info.list_issue_date_time.to_datetime().isoformat()
            if info.list_issue_date_time is not None
            else ""
        ),
        next_update=next_update,
    )


def _lotl_signers() -> list[asn1_x509.Certificate]:
    location = getattr(settings, "COMPTOIR_TRUSTED_LISTS_LOTL_SIGNERS", "") or ""
    if not location:
        return eutl_parse.latest_known_lotl_tlso_certs()
    if location.startswith("pyhanko:ojeu-"):
        # The certificates published in the Official Journal, bundled with pyHanko.
        return eutl_parse.ojeu_bootstrap_lotl_tlso_certs(int(location.rsplit("-", 1)[1]))
    return list(load_certs_from_pemder_data(_read_bytes(location)))


def _load_one(
    location: str,
    *,
    verify: bool,
    at: datetime | None,
    signers_by_territory: dict[str, list[asn1_x509.Certificate]],
    signers_by_location: dict[str, list[asn1_x509.Certificate]],
) -> tuple[dict[str, Any], eutl_parse.LOTLParseResult | None]:
    xml = _read_text(location)
    head = _head(location, xml)
    payload = xml
    if verify:
        if head.kind == "lotl":
            candidates = _lotl_signers()
        else:
            candidates = signers_by_location.get(location) or signers_by_territory.get(
                head.territory, []
            )
            if not candidates:
                raise TrustedListError(
                    f"{location}: no signer certificates for territory {head.territory!r}: "
                    "add the EU list of the lists to COMPTOIR_TRUSTED_LISTS, before this list"
                )
        try:
            payload = _verified_tl_payload(xml, candidates, at)
        except Exception as exc:
            raise TrustedListError(f"{location}: signature check failed: {exc}") from exc
    lotl = None
    services = 0
    if head.kind == "lotl":
        lotl = eutl_parse.parse_lotl_unsafe(payload)
    else:
        registry, _errors = eutl_parse.trust_list_to_registry_unsafe(payload)
        services = len(list(registry.known_certificate_authorities))
    entry = {
        "location": location,
        "kind": head.kind,
        "territory": head.territory,
        "sequence": head.sequence,
        "issued": head.issued,
        "next_update": head.next_update,
        "signature_checked": verify,
        "ca_services": services,
        "xml": payload if head.kind == "tl" else "",
    }
    return entry, lotl


def _alternate_certificates(location: str) -> list[bytes]:
    path = Path(location)
    if not _is_url(location) and path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in _CERT_SUFFIXES)
        datas = [p.read_bytes() for p in files]
    else:
        datas = [_read_bytes(location)]
    ders: list[bytes] = []
    for data in datas:
        try:
            ders.extend(cert.dump() for cert in load_certs_from_pemder_data(data))
        except Exception as exc:
            raise TrustedListError(f"{location}: not a certificate file: {exc}") from exc
    if not ders:
        raise TrustedListError(f"{location}: no CA certificate found")
    return ders


def _looks_like_xml(location: str) -> bool:
    if _is_url(location):
        return True
    path = Path(location)
    if path.is_dir():
        return False
    return path.suffix.lower() in (".xml", ".xtsl") or _read_bytes(location).lstrip(
        b"\xef\xbb\xbf \r\n\t"
    ).startswith(b"<")


def _load_snapshot(previous: dict[str, Any] | None) -> dict[str, Any]:
    verify = bool(getattr(settings, "COMPTOIR_TRUSTED_LISTS_VERIFY", True))
    at = _verify_at()
    follow = bool(getattr(settings, "COMPTOIR_TRUSTED_LISTS_FOLLOW_LOTL", False))
    previous_by_location = {entry["location"]: entry for entry in (previous or {}).get("lists", [])}
    signers_by_territory: dict[str, list[asn1_x509.Certificate]] = {}
    signers_by_location: dict[str, list[asn1_x509.Certificate]] = {}
    lists: list[dict[str, Any]] = []
    errors: list[str] = []
    queue = _setting_list("COMPTOIR_TRUSTED_LISTS")
    seen: set[str] = set()
    while queue:
        location = queue.pop(0)
        if location in seen:
            continue
        seen.add(location)
        try:
            entry, lotl = _load_one(
                location,
                verify=verify,
                at=at,
                signers_by_territory=signers_by_territory,
                signers_by_location=signers_by_location,
            )
        except TrustedListError as exc:
            logger.warning("trusted list not loaded: %s", exc)
            errors.append(str(exc))
            stale = previous_by_location.get(location)
            if stale is not None:
                # Keep the last good copy rather than trusting nothing until the list is back.
                lists.append({**stale, "stale": True})
            continue
        lists.append(entry)
        if lotl is not None:
            for reference in lotl.references:
                signers_by_territory.setdefault(reference.territory, []).extend(
                    reference.tlso_certs
                )
                signers_by_location[reference.location_uri] = list(reference.tlso_certs)
                if follow and reference.location_uri not in seen:
                    queue.append(reference.location_uri)

    alternate_xml: list[dict[str, Any]] = []
    alternate_certs: list[bytes] = []
    for location in _setting_list("COMPTOIR_TRUSTED_LIST_ALTERNATE"):
        try:
            if _looks_like_xml(location):
                xml = _read_text(location)
                head = _head(location, xml)
                registry, _errors = eutl_parse.trust_list_to_registry_unsafe(xml)
                alternate_xml.append(
                    {
                        "location": location,
                        "kind": "alternate",
                        "territory": head.territory,
                        "sequence": head.sequence,
                        "issued": head.issued,
                        "next_update": head.next_update,
                        "signature_checked": False,
                        "ca_services": len(list(registry.known_certificate_authorities)),
                        "xml": xml,
                    }
                )
            else:
                alternate_certs.extend(_alternate_certificates(location))
        except (TrustedListError, OSError) as exc:
            logger.warning("alternate list not loaded: %s", exc)
            errors.append(str(exc))
    lists.extend(alternate_xml)

    digest = hashlib.sha256()
    for entry in lists:
        digest.update(entry["location"].encode())
        digest.update(entry["xml"].encode())
    for der in alternate_certs:
        digest.update(der)
    return {
        "version": digest.hexdigest(),
        "refreshed_at": timezone.now().isoformat(),
        "lists": lists,
        "alternate_certs": alternate_certs,
        "errors": errors,
    }


def cached_snapshot() -> dict[str, Any] | None:
    version = cache.get(VERSION_KEY)
    if version is None:
        return None
    snapshot: dict[str, Any] | None = cache.get(f"{CACHE_KEY}:{version}")
    return snapshot


def _cache_snapshot(snapshot: dict[str, Any]) -> None:
    previous = cache.get(VERSION_KEY)
    cache.set(f"{CACHE_KEY}:{snapshot['version']}", snapshot, timeout=None)
    cache.set(VERSION_KEY, snapshot["version"], timeout=None)
    if previous and previous != snapshot["version"]:
        cache.delete(f"{CACHE_KEY}:{previous}")


def trusted_lists_refresh() -> dict[str, Any]:
    """Read every configured list again, store the snapshot in the cache and return a summary
    (what the task and the management command report). A list that cannot be read keeps its
    last good copy, marked stale."""
    snapshot = _load_snapshot(cached_snapshot())
    _cache_snapshot(snapshot)
    return trusted_lists_summary(snapshot)


def trusted_lists_summary(snapshot: dict[str, Any] | None = None) -> dict[str, Any]:
    snapshot = snapshot if snapshot is not None else cached_snapshot()
    if snapshot is None:
        return {"version": "", "refreshed_at": "", "lists": [], "alternate_certs": 0, "errors": []}
    return {
        "version": snapshot["version"],
        "refreshed_at": snapshot["refreshed_at"],
        "lists": [{k: v for k, v in entry.items() if k != "xml"} for entry in snapshot["lists"]],
        "alternate_certs": len(snapshot["alternate_certs"]),
        "errors": list(snapshot["errors"]),
    }


# --- the store each process builds from the snapshot ---------------------------------------------


class _CombinedTrustManager(TrustManager):
    """Trust anchors from the trusted lists' CA services and from the alternate certificates."""

    def __init__(self, managers: Sequence[TrustManager]) -> None:
        self.managers = list(managers)

    def as_trust_anchor(self, authority: Authority) -> TrustAnchor | None:
        for manager in self.managers:
            anchor = manager.as_trust_anchor(authority)
            if anchor is not None:
                return anchor
        return None

    def find_potential_issuers(self, cert: asn1_x509.Certificate) -> Iterator[TrustAnchor]:
        for manager in self.managers:
            yield from manager.find_potential_issuers(cert)


@dataclass
class TrustStore:
    version: str
    registry: TSPRegistry
    territory_of: dict[CAServiceInformation, str]
    list_of: dict[CAServiceInformation, str]
    alternate: SimpleTrustManager
    alternate_certs: list[asn1_x509.Certificate]
    _anchors: int | None = None

    @property
    def trust_manager(self) -> TrustManager:
        return _CombinedTrustManager([TSPTrustManager(self.registry), self.alternate])

    def ca_service_count(self) -> int:
        """How many CA certificates are trust anchors (trusted lists and alternate list)."""
        if self._anchors is None:
            self._anchors = len(list(self.registry.known_certificate_authorities)) + len(
                self.alternate_certs
            )
        return self._anchors


def _build_store(snapshot: dict[str, Any]) -> TrustStore:
    registry = TSPRegistry()
    territory_of: dict[CAServiceInformation, str] = {}
    list_of: dict[CAServiceInformation, str] = {}
    for entry in snapshot["lists"]:
        if not entry["xml"]:
            continue
        one, _errors = eutl_parse.trust_list_to_registry_unsafe(entry["xml"])
        for authority in one.known_certificate_authorities:
            for service in one.applicable_service_definitions(authority, None):
                if isinstance(service, CAServiceInformation):
                    registry.register_ca(service)
                    territory_of[service] = entry["territory"]
                    list_of[service] = entry["location"]
    certs = [asn1_x509.Certificate.load(der) for der in snapshot["alternate_certs"]]
    return TrustStore(
        version=snapshot["version"],
        registry=registry,
        territory_of=territory_of,
        list_of=list_of,
        alternate=SimpleTrustManager.build(trust_roots=certs),
        alternate_certs=certs,
    )


_memo: dict[str, TrustStore] = {}
_memo_lock = threading.Lock()


def trust_store() -> TrustStore:
    """This process's view of the lists: rebuilt when the cached snapshot's version changes.
    With nothing in the cache (first use, cache cleared) the lists are loaded now."""
    version = cache.get(VERSION_KEY)
    with _memo_lock:
        if version is not None and version in _memo:
            return _memo[version]
    snapshot = cached_snapshot()
    if snapshot is None:
        trusted_lists_refresh()
        snapshot = cached_snapshot()
        if snapshot is None:  # a dummy cache: build from a fresh load each time
            snapshot = _load_snapshot(None)
    with _memo_lock:
        store = _memo.get(snapshot["version"])
        if store is None:
            store = _build_store(snapshot)
            _memo.clear()
            _memo[snapshot["version"]] = store
        return store


# --- the check -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrustVerdict:
    trusted: bool
    qualified: bool = False
    code: str = ""  # "" when trusted; otherwise see REASONS
    message: str | Promise = ""
    service: str = ""  # the CA service (trusted list) or CA certificate (alternate) found
    territory: str = ""  # the list's territory; "alternate" for the alternate certificates
    trusted_list: str = ""  # where that list was read from
    chain: tuple[str, ...] = ()  # subjects (RFC 4514) from the trust anchor down to the leaf
    qc_type: str = ""  # esign / eseal / web, as assessed with the list

    @property
    def refused(self) -> bool:
        return not self.trusted


REASONS = {
    "unlisted_ca": _(
        "The certificate was not issued by a certificate authority on the trusted lists."
    ),
    "chain_invalid": _("The certificate's chain of issuers could not be verified."),
    "expired": _("The certificate has expired."),
    "not_yet_valid": _("The certificate is not valid yet."),
    "not_fit": _("The certificate cannot be used for this purpose."),
    "not_qualified": _("Only qualified certificates are accepted."),
    "lists_unavailable": _(
        "The trusted lists are not available at the moment, so the certificate cannot be "
        "checked. Try again later."
    ),
}


def _to_asn1(cert: x509.Certificate | asn1_x509.Certificate) -> asn1_x509.Certificate:
    if isinstance(cert, asn1_x509.Certificate):
        return cert
    return asn1_x509.Certificate.load(certificate_der(cert))


def _to_crypto(cert: x509.Certificate | asn1_x509.Certificate) -> x509.Certificate:
    if isinstance(cert, x509.Certificate):
        return cert
    return x509.load_der_x509_certificate(cert.dump())


def _validate_path(
    leaf: asn1_x509.Certificate,
    intermediates: list[asn1_x509.Certificate],
    at: datetime,
    store: TrustStore,
) -> ValidationPath:
    context = ValidationContext(
        trust_manager=store.trust_manager,
        other_certs=intermediates,
        moment=at,
        allow_fetching=False,
        # Revocation is not checked here: registration checks issuance and trust; the B2G
        # check and the certificate's own revocation in Comptoir handle the rest.
        revocation_mode="soft-fail",
    )
    validator = CertificateValidator(
        leaf, intermediate_certs=intermediates, validation_context=context
    )
    return run_coroutine(validator.async_validate_path())  # type: ignore[no-any-return]


def _refusal(code: str, message: str | Promise | None = None, **extra: Any) -> TrustVerdict:
    return TrustVerdict(trusted=False, code=code, message=message or REASONS[code], **extra)


def _anchor_service(
    path: ValidationPath, at: datetime, store: TrustStore
) -> tuple[str, str, str, CAServiceInformation | None]:
    """(service name, territory, list location, service) of the path's trust anchor."""
    for authority in path.iter_authorities():
        for service in store.registry.applicable_service_definitions(authority, at):
            if isinstance(service, CAServiceInformation):
                return (
                    service.base_info.service_name,
                    store.territory_of.get(service, ""),
                    store.list_of.get(service, ""),
                    service,
                )
    anchor = path.trust_anchor.authority
    if isinstance(anchor, AuthorityWithCert):
        return (_to_crypto(anchor.certificate).subject.rfc4514_string(), "alternate", "", None)
    return (anchor.name.human_friendly, "alternate", "", None)


_QC_TYPE_FOR_PURPOSE = {PURPOSE_SEAL: QcCertType.QC_ESEAL}


def trust_check(
    cert: x509.Certificate | asn1_x509.Certificate,
    *,
    intermediates: Iterable[x509.Certificate | asn1_x509.Certificate] = (),
    at: datetime,
    purpose: str,
    store: TrustStore | None = None,
) -> TrustVerdict:
    """Is the certificate, at that moment and for that purpose ("signature" or "seal"),
    issued under a CA on the trusted lists or the alternate list, and qualified?

    Checked in this order, the first failure being the verdict: validity (``expired``,
    ``not_yet_valid``), fitness for the purpose (``not_fit``), the chain to a listed CA
    (``unlisted_ca``, or ``chain_invalid`` when a chain exists but does not verify), then
    ``not_qualified`` when ``COMPTOIR_TRUST_QUALIFIED_ONLY`` is on. With no CA at all on the
    lists (none configured, or none could be loaded) the verdict is ``lists_unavailable``."""
    if timezone.is_naive(at):
        raise ValueError("trust_check needs an aware datetime")
    leaf = _to_crypto(cert)
    refusal = certificate_validity_at(leaf, at)
    if refusal is not None:
        return _refusal(refusal.code, refusal.message)
    refusal = certificate_fit_for(leaf, purpose)
    if refusal is not None:
        return _refusal(refusal.code, refusal.message)

    store = store or trust_store()
    if store.ca_service_count() == 0:
        # Nothing to trust at all is a configuration or download problem, not the certificate's.
        return _refusal("lists_unavailable")
    leaf_asn1 = _to_asn1(leaf)
    others = [_to_asn1(c) for c in intermediates]
    try:
        path = _validate_path(leaf_asn1, others, at, store)
    except PathBuildingError:
        return _refusal("unlisted_ca")
    except ExpiredError as exc:
        return _refusal(
            "chain_invalid",
            _("A certificate in the chain of issuers had expired: %(detail)s")
            % {"detail": str(exc)},
        )
    except NotYetValidError as exc:
        return _refusal(
            "chain_invalid",
            _("A certificate in the chain of issuers was not valid yet: %(detail)s")
            % {"detail": str(exc)},
        )
    except DisallowedAlgorithmError:
        return _refusal(
            "chain_invalid",
            _("The chain of issuers uses a signature algorithm that is no longer accepted."),
        )
    except (PathValidationError, ValidationError) as exc:
        logger.info("chain did not validate: %s", exc)
        return _refusal("chain_invalid")

    name, territory, location, service = _anchor_service(path, at, store)
    chain = tuple(
        _to_crypto(c).subject.rfc4514_string() for c in path if isinstance(c, asn1_x509.Certificate)
    )
    qualified = False
    qc_type = ""
    if service is not None:
        try:
            result = QualificationAssessor(store.registry).check_entity_cert_qualified(path, at)
        except NotImplementedError:  # several QcTypes in one certificate
            result = None
        if result is not None:
            qc_type = result.status.qc_type.value.removeprefix("qct_")
            wanted = _QC_TYPE_FOR_PURPOSE.get(purpose, QcCertType.QC_ESIGN)
            qualified = (
                result.status.qualified
                and result.status.qc_type == wanted
                and qc_statements(leaf).eu_legislation
            )
    if qualified_only() and not qualified:
        return _refusal(
            "not_qualified",
            service=name,
            territory=territory,
            trusted_list=location,
            chain=chain,
            qc_type=qc_type,
        )
    return TrustVerdict(
        trusted=True,
        qualified=qualified,
        service=name,
        territory=territory,
        trusted_list=location,
        chain=chain,
        qc_type=qc_type,
    )
