"""Optional case metadata given to `report`: who the logs come from, whom to contact, the user's own reference
and the date of the analysis. Recorded in bag-info.txt and in summary.json's `case` section, and replayed by
`verify --logs` from summary.json's report parameters.

bag-info.txt labels (RFC 8493 section 2.2.2): Source-Organization, Contact-Name, Contact-Email and
External-Identifier are reserved labels used as the RFC defines them. The RFC has no label for the date of an
analysis (Bagging-Date is when the bag was made, which here is fixed for reproducibility), so the analysis date
uses the non-reserved label Analysis-Date.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields
from datetime import date
from typing import Any

from forensics.errors import InvalidCaseMetadataError

# summary.json key -> (bag-info.txt label, command-line option)
LABELS = {
    "source_organization": ("Source-Organization", "--source-organization"),
    "contact_name": ("Contact-Name", "--contact-name"),
    "contact_email": ("Contact-Email", "--contact-email"),
    "external_identifier": ("External-Identifier", "--external-identifier"),
    "analysis_date": ("Analysis-Date", "--analysis-date"),
}
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
MAX_CHARS = 200


@dataclass(frozen=True)
class CaseMetadata:
    """Each field is None unless the user gave it; none has a default."""

    source_organization: str | None = None
    contact_name: str | None = None
    contact_email: str | None = None
    external_identifier: str | None = None
    analysis_date: str | None = None

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if value is None:
                continue
            option = LABELS[name][1]
            if not isinstance(value, str) or not value.strip() or len(value) > MAX_CHARS or any(
                ch in value for ch in "\r\n\t\v\f\x00"
            ) or not value.isprintable():
                raise InvalidCaseMetadataError(f"{option} must be one line of 1-{MAX_CHARS} printable characters")
            if value != value.strip():
                raise InvalidCaseMetadataError(f"{option} {value!r}: remove the leading or trailing spaces")
        if self.contact_email is not None and not _EMAIL.fullmatch(self.contact_email):
            raise InvalidCaseMetadataError(f"--contact-email {self.contact_email!r}: expected an address like name@example.org")
        if self.analysis_date is not None:
            try:
                if not _DATE.fullmatch(self.analysis_date):
                    raise ValueError
                date.fromisoformat(self.analysis_date)
            except ValueError:
                raise InvalidCaseMetadataError(
                    f"--analysis-date {self.analysis_date!r}: expected a date as YYYY-MM-DD"
                ) from None

    def as_dict(self) -> dict[str, str | None]:
        """Every field, None where not given (summary.json keeps the keys so its shape never varies)."""
        return asdict(self)

    def bag_info(self) -> list[tuple[str, str]]:
        """(label, value) for each field given, in the order of LABELS."""
        values = self.as_dict()
        return [(label, values[name]) for name, (label, _) in LABELS.items() if values[name] is not None]

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> "CaseMetadata":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in (values or {}).items() if k in names})


def bag_info_fields(summary: dict) -> list[tuple[str, str]]:
    """bag-info.txt labels, all derived from summary.json so `verify` can re-derive the file exactly (here, not in
    bundle/run.py, so that `forensics verify` checks a bundle without loading the report's libraries)."""
    metadata = CaseMetadata.from_dict(summary.get("case"))
    return [
        ("Bag-Software-Agent", f"forensics {summary['tool_version']}"),
        ("Bagging-Date", summary["bagging_date"]),
        ("Internal-Sender-Identifier", summary["case_id"]),
        ("External-Description", summary["title"]),
        ("Internal-Sender-Description",
         f"Evidence bundle; pseudonymisation key fingerprint {summary['key_fingerprint']}"),
        *metadata.bag_info(),
    ]
