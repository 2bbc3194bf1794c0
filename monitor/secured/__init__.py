"""The `secured` field (CONTRACT section 4): envelopes, keys, verification, signing.

`canonical` is the byte form a v2 digest or an Ed25519 signature covers;
`envelopes` parses and formats the three shapes (no crypto); `keys` loads and
writes key files; `signature` verifies and makes envelopes; `edit` rewrites
only the `secured` line of a document for `sign --in-place`.
"""
