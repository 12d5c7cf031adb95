"""The certificates of an operator in its professional space: the list with its search and the
EORI identity; the registration wizard (step 1 the questions, step 2 download the registration
document and upload it signed, step 3 the result); each certificate's details, downloads and
revocation. Views check the input's shape and call one service. The operator comes from
``certificate_view`` (a valid position there, or a customs officer; 404 otherwise), the
certificate from a scoped selector (404 unless it belongs to that operator)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from cryptography.hazmat.primitives import serialization
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from comptoir.accounts.models import User
from comptoir.certificates import registrations as reg
from comptoir.certificates.forms import RevokeForm, SearchForm, StartForm, UploadForm
from comptoir.certificates.inspect import certificate_load
from comptoir.certificates.models import Certificate, RegistrationDocument
from comptoir.certificates.rights import registration_access_state
from comptoir.certificates.services import CertificateStateError
from comptoir.core.forms import form_add_service_errors
from comptoir.core.responses import not_allowed
from comptoir.operators.models import Operator

PAGE_SIZE = 25
Kind = RegistrationDocument.Kind

#: Downloads: the URL's last segment → (document kind or certificate format, content type).
DOWNLOADS: dict[str, tuple[str, str]] = {
    "certificate.cer": ("der", "application/pkix-cert"),
    "certificate.pem": ("pem", "application/x-pem-file"),
    "registration.pdf": (Kind.ISSUED, "application/pdf"),
    "signed.pdf": (Kind.SIGNED, "application/pdf"),
    "signature.p7s": (Kind.SIGNATURE, "application/pkcs7-signature"),
    "uploaded-certificate": (Kind.CERTIFICATE, "application/octet-stream"),
    "proof.pdf": (Kind.PROOF, "application/pdf"),
}


class AuthenticatedRequest(HttpRequest):
    user: User


CertificateView = Callable[..., HttpResponse]


def certificate_view(view: CertificateView) -> CertificateView:
    """Resolve the operator of the URL for the person (a valid position there, or a customs
    officer): 404 for any other."""

    @wraps(view)
    @login_required
    @never_cache
    def wrapper(request: AuthenticatedRequest, operator_id: int, **kwargs: Any) -> HttpResponse:
        try:
            operator = reg.certificate_operator_for_person(
                person=request.user, operator_id=operator_id
            )
        except Operator.DoesNotExist:
            raise Http404 from None
        return view(request, operator, **kwargs)

    return wrapper


def _certificate(
    request: AuthenticatedRequest, operator: Operator, certificate_id: Any
) -> Certificate:
    try:
        return reg.certificate_for_person(
            person=request.user, certificate_id=certificate_id, operator_id=operator.pk
        )
    except Certificate.DoesNotExist:
        raise Http404 from None


def _refused(request: AuthenticatedRequest, operator: Operator, message: object) -> HttpResponse:
    return not_allowed(
        request,
        message=str(message),
        back_url=reverse("certificates:list", kwargs={"operator_id": operator.pk}),
        back_label=_("Back to the certificates of %(name)s") % {"name": operator.name},
    )


def _posted(request: HttpRequest) -> Any:
    return request.POST if request.method == "POST" else None


# --- List and search ------------------------------------------------------------------------------


@certificate_view
def certificate_list(request: AuthenticatedRequest, operator: Operator) -> HttpResponse:
    form = SearchForm(request.GET or None)
    search = form.search() if request.GET else reg.CertificateSearch()
    certificates = reg.certificates_of_operator(
        person=request.user, operator=operator, search=search
    )
    page = Paginator(certificates, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "certificates/list.html",
        {
            "operator": operator,
            "identity": reg.identity_of(operator=operator),
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "searched": bool(request.GET and any(v for k, v in request.GET.items() if k != "page")),
            "can_register": reg.person_manages_certificates(person=request.user, operator=operator),
        },
        status=422 if form.errors else 200,
    )


# --- The wizard -----------------------------------------------------------------------------------


def _closed(
    request: AuthenticatedRequest, operator: Operator, refusal: reg.CertificateNotAllowed
) -> HttpResponse:
    return render(
        request,
        "certificates/closed.html",
        {
            "operator": operator,
            "refusal": refusal,
            "access": registration_access_state(operator=operator, person=request.user),
        },
        status=403,
    )


@certificate_view
def certificate_new(request: AuthenticatedRequest, operator: Operator) -> HttpResponse:
    refusal = reg.registration_refusal(person=request.user, operator=operator)
    if refusal is not None:
        if refusal.code == "no_right":
            return _closed(request, operator, refusal)
        return _refused(request, operator, refusal.message)
    form = StartForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            certificate = reg.certificate_registration_start(
                person=request.user,
                operator=operator,
                name=data["name"],
                description=data["description"],
                purpose=data["purpose"],
                key_holder=data["key_holder"],
            )
        except reg.CertificateNotAllowed as exc:
            if exc.code == "no_right":
                return _closed(request, operator, exc)
            return _refused(request, operator, exc.message)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            return redirect(
                "certificates:upload",
                operator_id=operator.pk,
                certificate_id=certificate.public_id,
            )
    return render(
        request,
        "certificates/new.html",
        {"operator": operator, "form": form},
        status=422 if form.errors else 200,
    )


@certificate_view
def certificate_upload(
    request: AuthenticatedRequest, operator: Operator, certificate_id: Any
) -> HttpResponse:
    certificate = _certificate(request, operator, certificate_id)
    if certificate.status != Certificate.Status.SEALED:
        return redirect(
            "certificates:detail", operator_id=operator.pk, certificate_id=certificate.public_id
        )
    if not reg.person_manages_certificates(person=request.user, operator=operator):
        return _refused(
            request,
            operator,
            reg.NOT_MANAGER_MESSAGE,
        )
    form = UploadForm(
        _posted(request),
        request.FILES if request.method == "POST" else None,
        key_holder=certificate.key_holder,
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            signed = data["signed"]
            detached = data.get("detached_signature")
            uploaded = data.get("uploaded_certificate")
            try:
                reg.certificate_registration_upload(
                    person=request.user,
                    certificate=certificate,
                    signed=signed.read(),
                    filename=signed.name or "",
                    detached_signature=detached.read() if detached else None,
                    detached_filename=(detached.name or "") if detached else "",
                    uploaded_certificate=uploaded.read() if uploaded else None,
                    certificate_filename=(uploaded.name or "") if uploaded else "",
                )
            except reg.CertificateNotAllowed as exc:
                return _refused(request, operator, exc.message)
            except CertificateStateError as exc:
                return _refused(request, operator, exc.message)
            except ValidationError as exc:
                form_add_service_errors(form, exc)
            else:
                return redirect(
                    "certificates:registered",
                    operator_id=operator.pk,
                    certificate_id=certificate.public_id,
                )
        status = 422
    return render(
        request,
        "certificates/upload.html",
        {"operator": operator, "certificate": certificate, "form": form},
        status=status,
    )


@certificate_view
def certificate_registered(
    request: AuthenticatedRequest, operator: Operator, certificate_id: Any
) -> HttpResponse:
    certificate = _certificate(request, operator, certificate_id)
    if certificate.status != Certificate.Status.ACTIVE:
        return redirect(
            "certificates:detail", operator_id=operator.pk, certificate_id=certificate.public_id
        )
    return render(
        request,
        "certificates/registered.html",
        {"operator": operator, "certificate": certificate},
    )


# --- Details, downloads, revocation ---------------------------------------------------------------


@certificate_view
def certificate_detail(
    request: AuthenticatedRequest, operator: Operator, certificate_id: Any
) -> HttpResponse:
    certificate = _certificate(request, operator, certificate_id)
    return render(
        request,
        "certificates/detail.html",
        {
            "operator": operator,
            "certificate": certificate,
            "documents": reg.certificate_documents(certificate=certificate),
            "can_revoke": reg.certificate_can_revoke(person=request.user, certificate=certificate),
            "can_upload": certificate.status == Certificate.Status.SEALED
            and reg.person_manages_certificates(person=request.user, operator=operator),
        },
    )


def download_response(*, certificate: Certificate, what: str) -> HttpResponse | None:
    """The file ``what`` (a key of DOWNLOADS) of the certificate, or None when there is none.
    Shared by the pages and the API."""
    if what not in DOWNLOADS:
        return None
    kind, content_type = DOWNLOADS[what]
    if kind in ("der", "pem"):
        if not certificate.der:
            return None
        der = bytes(certificate.der)
        content = (
            der if kind == "der" else certificate_load(der).public_bytes(serialization.Encoding.PEM)
        )
        extension = "cer" if kind == "der" else "pem"
        name = f"certificate-{certificate.serial or certificate.public_id}.{extension}"
    else:
        document = reg.certificate_document(certificate=certificate, kind=kind)
        if document is None:
            return None
        content = bytes(document.content)
        name = reg.document_filename(certificate=certificate, kind=kind)
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@certificate_view
def certificate_download(
    request: AuthenticatedRequest, operator: Operator, certificate_id: Any, what: str
) -> HttpResponse:
    certificate = _certificate(request, operator, certificate_id)
    response = download_response(certificate=certificate, what=what)
    if response is None:
        raise Http404
    return response


@certificate_view
def certificate_revoke(
    request: AuthenticatedRequest, operator: Operator, certificate_id: Any
) -> HttpResponse:
    certificate = _certificate(request, operator, certificate_id)
    if not reg.certificate_can_revoke(person=request.user, certificate=certificate):
        if certificate.status != Certificate.Status.ACTIVE:
            return _refused(
                request,
                operator,
                _("Only an active certificate can be revoked: this one is %(status)s.")
                % {"status": certificate.get_status_display()},
            )
        return _refused(
            request,
            operator,
            _(
                "Only the company's legal representative, its managers and customs officers can "
                "revoke a certificate."
            ),
        )
    form = RevokeForm(_posted(request))
    if request.method == "POST" and form.is_valid():
        try:
            reg.certificate_revoke(
                person=request.user, certificate=certificate, reason=form.cleaned_data["reason"]
            )
        except reg.CertificateNotAllowed as exc:
            return _refused(request, operator, exc.message)
        except CertificateStateError as exc:
            return _refused(request, operator, exc.message)
        except ValidationError as exc:
            form_add_service_errors(form, exc)
        else:
            messages.success(
                request, _("The certificate “%(name)s” is revoked.") % {"name": certificate.name}
            )
            return redirect(
                "certificates:detail",
                operator_id=operator.pk,
                certificate_id=certificate.public_id,
            )
    return render(
        request,
        "certificates/revoke.html",
        {"operator": operator, "certificate": certificate, "form": form},
        status=422 if form.errors else 200,
    )
