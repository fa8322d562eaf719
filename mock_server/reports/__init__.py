"""Pattern analysis (``analysis.analyze``) and the clinic PDF report (``pdf.render_report``) in seven
languages; ``series`` turns records into dated series, ``stats`` holds the statistics, ``sentences`` and
``i18n`` the words, ``charts`` the figures."""
