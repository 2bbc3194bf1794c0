"""`python -m monitor` is the same as the `article-monitor` console script."""

if __name__ == "__main__":
    from monitor.check.interrupt import stop_early

    stop_early()  # before the imports below: a Ctrl-C during them exits 130, not a traceback

    from monitor.cli import main

    main()
