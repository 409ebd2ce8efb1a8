"""Ingest: validate every log row, pseudonymise identities, and write a case directory.

Three passes keep memory bounded by one record batch plus small indexes, not by the input size:
1. each file is streamed in record batches; every row is either staged as a valid event (split by UTC day)
   or quarantined with its raw values and a reason;
2. duplicate request IDs are found across all staged rows (a 64-bit hash narrows the candidates, exact IDs
   decide), and every copy but the first is quarantined. "First" means earliest timestamp, then smallest
   input-file SHA-256, then input path, then row number in that file: independent of the order the files
   are given in and of thread count;
3. each day's events are sorted by (account_pseudonym, timestamp, request_id) and written to
   events/YYYY-MM-DD.parquet. Account order makes every later pass that reads accounts row by row read a
   row group's account dictionary in order: at seed scale a categorical cast of the account column ran
   2.3x faster than on the same rows in time order.
The case is built beside the target and renamed into place only when everything succeeded.
"""

from forensics.ingest.run import IngestOptions, IngestResult, RowPasses, run_ingest

__all__ = ["IngestOptions", "IngestResult", "RowPasses", "run_ingest"]
