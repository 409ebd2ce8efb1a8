"""Every failure the tool reports on purpose. The CLI maps these to exit codes in one place."""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    """The CLI's exit codes."""

    OK = 0
    INTERNAL_ERROR = 1  # a bug: the tool did something it should never do
    BAD_INPUT = 2  # input or usage the tool refuses
    BUNDLE_INVALID = 3  # a bundle that fails verification
    INTERRUPTED = 130  # Ctrl-C, as a shell reports SIGINT


class ForensicsError(Exception):
    """A failure explained to the user in one line."""

    exit_code = ExitStatus.BAD_INPUT


class BadInputError(ForensicsError):
    """Input or usage that the tool refuses (exit 2)."""


class NotParquetError(BadInputError):
    """A log file that is not Parquet."""


class CorruptInputError(BadInputError):
    """A Parquet file that is truncated or damaged."""


class MissingColumnError(BadInputError):
    """A required column is absent after column mapping."""


class UncoercibleTypeError(BadInputError):
    """A column whose type cannot be read as the canonical type."""


class ImplausibleTimestampError(BadInputError):
    """Integer timestamps that decode to impossible dates in the chosen unit."""


class NoInputError(BadInputError):
    """No Parquet file was found under the given paths."""


class ColumnMapError(BadInputError):
    """A malformed --map option or mapping file."""


class InvalidWindowError(BadInputError):
    """A --since/--until value that is not an ISO-8601 date or an empty window."""


class KeyFileError(BadInputError):
    """A key file that is missing, malformed or readable by others."""


class WrongKeyError(BadInputError):
    """A key whose fingerprint differs from the one recorded in the case or bundle."""


class CaseError(BadInputError):
    """A case directory that is missing, incomplete or not a case."""


class CaseLockedError(BadInputError):
    """Another forensics process is writing the same case."""


class OutputExistsError(BadInputError):
    """The output path exists and --force was not given."""


class BundleInvalidError(ForensicsError):
    """A bundle that fails integrity or re-run verification (exit 3)."""

    exit_code = ExitStatus.BUNDLE_INVALID


class InternalError(ForensicsError):
    """A bug: something the tool should never do (exit 1)."""

    exit_code = ExitStatus.INTERNAL_ERROR


class ForensicsWarning(UserWarning):
    """A condition worth telling the user about that does not stop the run."""


class SignatureError(BadInputError):
    """A signing key or allowed-signers file that ssh-keygen cannot use."""


class InvalidCaseMetadataError(BadInputError):
    """A --source-organization, --contact-*, --external-identifier or --analysis-date value that cannot be
    recorded (not one line, too long, not an email address, not a YYYY-MM-DD date)."""


class UnknownClusterError(BadInputError):
    """A `reveal --cluster` ID that is not a flagged cluster of the case."""


class UnsafeOutputError(BadInputError):
    """An output that would put raw identities where they must not be (inside a bundle or a case directory)."""


class LogsMismatchError(BadInputError):
    """Logs that do not hold every account the case flagged: not the logs the case was ingested from."""
