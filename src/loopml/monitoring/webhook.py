"""Alert delivery to a webhook: one JSON POST per alert event, retried, never fatal.

The alert is already stored when delivery starts; a receiver that is down is
logged and does not fail the monitor run.
"""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request

from loopml.monitoring.service import AlertChange

log = logging.getLogger("loopml.alerts")
ATTEMPTS = 3
TIMEOUT_SECONDS = 5.0


def deliver(url: str, change: AlertChange) -> bool:
    """POST ``{"event": "opened"|"resolved", "alert": {...}}``; True when the receiver took it."""
    body = json.dumps({"event": change.event, "alert": change.alert.to_dict()}).encode()
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
                if 200 <= response.status < 300:
                    return True
        except (urllib.error.URLError, OSError) as error:
            log.warning(
                "alert webhook %s failed (attempt %d/%d): %s", url, attempt, ATTEMPTS, error
            )
        if attempt < ATTEMPTS:
            time.sleep(0.2 * attempt)
    return False
