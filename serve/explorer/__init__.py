"""The explorer web page: correlations, drill-downs, KPIs, questions and queries in one self-contained page."""
