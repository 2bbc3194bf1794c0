"""Pure static rules: what a record says about itself, checked without the network.

`static` holds the per-article checks and duplicates across the corpus;
`ampcache` derives the AMP Cache URL an AMP page is served at.
"""
