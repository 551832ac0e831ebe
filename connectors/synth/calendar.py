from covary.calendar import us_business_holidays  # noqa: F401  (moved to covary/calendar.py; a re-export)
