"""The one-shot check run: targets → checks → report.

`oneshot` drives a run; `pool` is the bounded pool of checkers in one
process; `processes` splits a big run by host over worker processes
(`worker`), which talk to the parent over `pipe` frames; `report` writes
the result in the four formats; `gc_pace` paces Python's garbage collector
during a run.
"""
