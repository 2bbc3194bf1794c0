"""`python -m monitor` is the same as the `article-monitor` console script."""

if __name__ == "__main__":
    import sys

    from monitor.daemon.hup import hold_for_run

    hold_for_run(sys.argv)  # first: a SIGHUP to `run` while it imports is a reload

    from monitor.check.interrupt import stop_early

    stop_early()  # before the imports below: a Ctrl-C during them exits 130, not a traceback

    from monitor.cli import main

    main()
