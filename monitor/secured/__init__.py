"""The `secured` field (CONTRACT section 4): envelopes, keys, verification, signing.

`canonical` is the byte form a v2 digest or an Ed25519 signature covers;
`envelopes` parses and formats the three shapes (no crypto); `keys` loads key
files and the environment key, and `keygen` makes and writes new ones;
`verify` and `sign` are the two pure directions over a KeyRing; `edit`
rewrites only the `secured` line of a document's text, and `inplace` does
the file I/O around it for `sign --in-place` (kept apart from `edit` so the
text surgery stays pure).
"""
