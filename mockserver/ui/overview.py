"""The dashboard's overview: what is served, what each vendor's tenants hold, the fault rules and
limits, the last requests; and its reset forms (the same store calls as POST /__mockserver/reset)."""
from __future__ import annotations

from flask import redirect, request, url_for

from ..admin.blueprint import known_vendor, server
from ..admin.index import served
from ..faults import VENDOR_LIMITS
from ..journal import JournalQuery
from ..problems import BadRequest
from .blueprint import page, ui

LAST_REQUESTS = 20
# Counting a tenant's records loads it into the worker's memory: the overview counts at most this many
# tenants per vendor (the others are listed by name).
COUNTED_TENANTS = 50


def tenant_counts(vendor: str, tenant: str) -> dict[str, int]:
    """Records per entity of one tenant (read-only: leaves nothing on disk)."""
    with server().store.transaction(vendor, tenant, write=False) as tx:
        return {entity: len(tx.records(entity)) for entity in tx.entities()}


@ui.get("/", strict_slashes=False)
def overview():
    store = server().store
    vendors = []
    for vendor in server().vendors:
        tenants = store.tenants(vendor)
        vendors.append({"name": vendor, "tenants": [{"name": t, "counts": tenant_counts(vendor, t)}
                                                    for t in tenants[:COUNTED_TENANTS]],
                        "uncounted": tenants[COUNTED_TENANTS:]})
    last, _ = server().journal.newest(JournalQuery(), 0, LAST_REQUESTS)
    limits = {v: rules for v, rules in VENDOR_LIMITS.items() if v in server().vendors}
    return page("overview.html", specs=served(), vendors=vendors, faults=server().faults.all(), limits=limits,
                requests=last)


@ui.post("/reset")
def reset():
    """Reset one tenant of a vendor, or a whole vendor; the form's confirmation box must be ticked."""
    vendor, tenant = request.form.get("vendor", ""), request.form.get("tenant")
    known_vendor(vendor)
    what = f"tenant {tenant!r} of {vendor}" if tenant is not None else f"every tenant of {vendor}"
    if request.form.get("confirm") != "yes":
        raise BadRequest(f"Tick the confirmation box to reset {what}: nothing was reset.")
    server().store.reset(vendor, tenant)
    return redirect(url_for(".overview"), 303)
