from django import template

from comptoir.accounts.models import TermsVersion

register = template.Library()


@register.simple_tag
def terms_title(terms: TermsVersion, language: str) -> str:
    return terms.title_in(language)


@register.simple_tag
def terms_text(terms: TermsVersion, language: str) -> str:
    return terms.text_in(language)
