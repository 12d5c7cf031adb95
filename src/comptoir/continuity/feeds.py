"""The Atom feed of the service status: one entry per opening and per closing of the
administration's fallback and of the exception (operators' own outages never appear)."""

from __future__ import annotations

from datetime import datetime

from django.contrib.syndication.views import Feed
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext as _

from comptoir.continuity import selectors
from comptoir.continuity.models import Outage
from comptoir.continuity.selectors import PublicEvent


class StatusFeed(Feed):
    feed_type = Atom1Feed

    def title(self) -> str:
        return _("Comptoir service status")

    def subtitle(self) -> str:
        return _(
            "Openings and closings of the fallback procedure (the administration's B2G system "
            "down) and of the exception (the national system down)."
        )

    def link(self) -> str:
        return reverse("continuity:status")

    def feed_guid(self) -> str:
        return "urn:comptoir:status"

    def items(self) -> list[PublicEvent]:
        return selectors.public_events(limit=50)

    def item_title(self, item: PublicEvent) -> str:
        opened = item.event == "opened"
        if item.outage.kind == Outage.Kind.EXCEPTION:
            title = (
                _("Exception opened: %(reference)s")
                if opened
                else _("Exception closed: %(reference)s")
            )
        else:
            title = (
                _("Fallback procedure opened: %(reference)s")
                if opened
                else _("Fallback procedure closed: %(reference)s")
            )
        return title % {"reference": item.outage.reference}

    def item_description(self, item: PublicEvent) -> str:
        outage = item.outage
        if item.event == "closed":
            parts = [_("Normal service has resumed.")]
            if outage.closing_note:
                parts.append(outage.closing_note)
            return "\n".join(parts)
        parts = [outage.get_kind_display()]
        if outage.description:
            parts.append(outage.description)
        parts.append(_("Customs office to contact: %(office)s") % {"office": outage.contact_office})
        parts.append(_("Instructions: %(instructions)s") % {"instructions": outage.instructions})
        return "\n".join(parts)

    def item_link(self, item: PublicEvent) -> str:
        if item.outage.status == Outage.Status.CLOSED:
            return reverse("continuity:history") + f"#outage-{item.outage.public_id}"
        return reverse("continuity:status") + f"#outage-{item.outage.public_id}"

    def item_guid(self, item: PublicEvent) -> str:
        return f"urn:comptoir:outage:{item.outage.public_id}:{item.event}"

    item_guid_is_permalink = False

    def item_pubdate(self, item: PublicEvent) -> datetime:
        return item.at

    def item_updateddate(self, item: PublicEvent) -> datetime:
        return item.at

    def item_author_name(self, item: PublicEvent) -> str:
        return _("Service desk")
