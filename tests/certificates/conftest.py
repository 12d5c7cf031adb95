from __future__ import annotations

import pytest

from comptoir.certificates import trust


@pytest.fixture(autouse=True)
def _no_trusted_lists(settings):
    """Each test names its own lists; nothing is read from the settings' defaults."""
    settings.COMPTOIR_TRUSTED_LISTS = []
    settings.COMPTOIR_TRUSTED_LIST_ALTERNATE = []
    settings.COMPTOIR_TRUST_QUALIFIED_ONLY = False
    settings.COMPTOIR_TRUSTED_LISTS_VERIFY = True
    settings.COMPTOIR_TRUSTED_LISTS_VERIFY_AT = None
    trust._memo.clear()
    yield
    trust._memo.clear()
