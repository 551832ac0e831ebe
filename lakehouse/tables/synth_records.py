"""Record-level exports of the synthetic enterprise (issue 15): campaigns, tickets, releases, plant events,
employees, projects, customers, orders and order lines, ledger entries and budget lines (silver, cleaned: typed,
deduplicated)."""

from __future__ import annotations

from lakehouse.registry import col
from lakehouse.tables.enterprise import BUSINESS_UNIT, CAMPAIGN, COUNTRY, DATE, DEVICE, F64, I64, PLATFORM, STR, TS
from lakehouse.tables.enterprise import silver as _silver

REGION = "Sales region: Northeast, Southeast, Midwest, West (US) or GB, DE."
_silver(
    "silver.synth_campaigns",
    "Daily ad campaign rows by platform, region and device (the ads export; silver.synth_marketing sums them).",
    ("date", "campaign", "region", "device"),
    col("date", DATE, "Day of the activity.", nullable=False),
    PLATFORM,
    CAMPAIGN,
    col("region", STR, REGION, nullable=False, synonyms=("area", "territory")),
    COUNTRY,
    DEVICE,
    col("spend_usd", F64, "Ad spend in USD."),
    col("impression_count", I64, "Times an ad was shown."),
    col("click_count", I64, "Clicks on ads."),
    col("conversion_count", I64, "New paying customers attributed to the ads."),
    col("revenue_usd", F64, "Revenue in USD from those conversions."),
    col("exported_at", TS, "When the platform exported the row (re-exports are deduplicated, latest wins)."),
    synonyms=("ads by region", "regional ad performance"),
)
_silver(
    "silver.synth_tickets",
    "Support tickets, one row each: product, feature, channel, region, opened/first-response/resolved times, "
    "satisfaction and the customer's text (silver.synth_support is their daily statistics).",
    ("ticket_id",),
    col("ticket_id", STR, "Ticket id.", nullable=False),
    col("opened_at", TS, "When the ticket was opened.", nullable=False),
    col("first_response_at", TS, "First agent response."),
    col("resolved_at", TS, "When it was resolved."),
    col("product", STR, "Product the ticket is about.", nullable=False),
    col("feature", STR, "Product feature the ticket is about.", nullable=False, synonyms=("component",)),
    col("channel", STR, "email, chat or phone.", nullable=False),
    col("region", STR, REGION, nullable=False),
    col("first_response_hours", F64, "Hours from opening to the first agent response."),
    col("satisfaction_score", F64, "The customer's satisfaction score, 1-5."),
    col("sentiment_text", STR, "The customer's message (free text)."),
    col("exported_at", TS, "Export day (tickets are exported when resolved: late rows)."),
    synonyms=("ticket records", "individual tickets", "ticket log"),
)
_silver(
    "silver.synth_releases",
    "Product release calendar: major and minor releases and the headline feature each changed.",
    ("product", "version"),
    col("product", STR, "Product.", nullable=False),
    col("version", STR, "Version major.minor.", nullable=False),
    col("release_date", DATE, "Release day.", nullable=False),
    col("kind", STR, "major or minor.", nullable=False),
    col("feature", STR, "Headline feature changed by the release."),
    synonyms=("releases", "release calendar", "launches"),
)
_silver(
    "silver.synth_equipment_events",
    "Plant events, one row each: equipment failures and customer complaints about a plant's output.",
    ("event_id",),
    col("event_id", STR, "Event id.", nullable=False),
    col("plant", STR, "Plant.", nullable=False),
    col("equipment_id", STR, "Equipment concerned."),
    col("kind", STR, "failure or complaint.", nullable=False),
    col("ts", TS, "When it happened.", nullable=False),
    synonyms=("equipment events", "plant events", "maintenance log"),
)
_silver(
    "silver.synth_employees",
    "Employees: team, region, hire date and exit date (null while employed).",
    ("employee_id",),
    col("employee_id", STR, "Employee id.", nullable=False),
    col("team", STR, "Team (HR department).", nullable=False),
    col("region", STR, REGION),
    col("hire_date", DATE, "First day.", nullable=False, synonyms=("start date",)),
    col("exit_date", DATE, "Last day, if the employee left.", synonyms=("leave date",)),
    synonyms=("employee records", "roster"),
)
_silver(
    "silver.synth_projects",
    "Projects per team: start, planned end, delivered date and slip in days (null while open).",
    ("project_id",),
    col("project_id", STR, "Project id.", nullable=False),
    col("team", STR, "Owning team.", nullable=False),
    col("start_date", DATE, "Start.", nullable=False),
    col("planned_end", DATE, "Planned delivery date.", nullable=False, synonyms=("deadline", "due date")),
    col("delivered_date", DATE, "Actual delivery date."),
    col("slip_days", I64, "delivered - planned, days.", synonyms=("delay", "slip")),
    synonyms=("projects", "delivery", "delivery timelines"),
)
_silver(
    "silver.synth_customers",
    "Customers: region, country, segment and first order date.",
    ("customer_id",),
    col("customer_id", STR, "Customer id.", nullable=False),
    col("region", STR, REGION, nullable=False),
    col("country", STR, "ISO country.", nullable=False),
    col("segment", STR, "consumer, smb or enterprise.", nullable=False),
    col("first_order_date", DATE, "First order."),
    synonyms=("customer records", "customer list"),
)
_silver(
    "silver.synth_orders",
    "Orders: customer, region, sales channel and time.",
    ("order_id",),
    col("order_id", STR, "Order id.", nullable=False),
    col("customer_id", STR, "Customer.", nullable=False),
    col("region", STR, REGION, nullable=False),
    col("channel", STR, "web, app or partner.", nullable=False),
    col("ordered_at", TS, "When the order was placed.", nullable=False),
    synonyms=("order records", "purchases"),
    append=True,  # generated once per batch with fresh ids; the batch key makes each write exactly-once
)
_silver(
    "silver.synth_order_lines",
    "Order lines: product, quantity, unit price and amount.",
    ("line_id",),
    col("line_id", STR, "Line id.", nullable=False),
    col("order_id", STR, "Order.", nullable=False),
    col("product", STR, "Product.", nullable=False),
    col("qty", I64, "Quantity.", synonyms=("quantity", "units")),
    col("unit_price", F64, "Unit price, USD.", synonyms=("price",)),
    col("amount", F64, "qty x unit_price, USD.", synonyms=("line total",)),
    synonyms=("order lines", "line items"),
    append=True,
)
_silver(
    "silver.synth_ledger_entries",
    "General-ledger journal, one row per entry: revenue per country and currency, advertising, payroll per cost "
    "centre, rent, software and cloud hosting (silver.synth_finance is their daily sum per business unit).",
    ("entry_id",),
    col("entry_id", STR, "Journal entry id.", nullable=False),
    col("posting_date", DATE, "Accounting date the entry belongs to.", nullable=False, synonyms=("date",)),
    col("booking_date", DATE, "When it was entered; later than posting_date for late postings.", nullable=False),
    col("period", STR, "Fiscal period of the posting date, YYYY-MM.", nullable=False, synonyms=("fiscal period",)),
    col("account", STR, "Account code: 4000, 4100 (revenue), 6000-6400 (expenses).", nullable=False),
    col(
        "account_name",
        STR,
        "Product revenue, Enterprise revenue, Advertising, Payroll, Cloud hosting, Rent and facilities, "
        "Software subscriptions.",
        nullable=False,
        synonyms=("gl account", "expense category"),
    ),
    col("account_type", STR, "revenue or expense.", nullable=False),
    col(
        "cost_center",
        STR,
        "Cost centre (team): sales, marketing, operations, support, finance.",
        nullable=False,
        synonyms=("cost centre", "team", "department"),
    ),
    BUSINESS_UNIT,
    col("vendor", STR, "Supplier of an expense (null for revenue and payroll).", synonyms=("supplier",)),
    col("description", STR, "Entry text; reversals name the entry they reverse."),
    col("currency", STR, "Transaction currency: USD, GBP or EUR.", nullable=False),
    col("amount", F64, "Amount in the transaction currency (reversals are negative)."),
    col("amount_usd", F64, "Amount in USD, the reporting currency (reversals are negative)."),
    col("reverses", STR, "entry_id of the entry this one reverses, if it is a reversal."),
    col("exported_at", TS, "When the entry was exported (re-exports are deduplicated, latest wins)."),
    synonyms=("general ledger", "journal", "gl entries", "ledger entries", "transactions"),
)
_silver(
    "silver.synth_budget_lines",
    "Monthly budget per cost centre and account, planned each quarter (silver.synth_budget sums it per cost centre).",
    ("month", "cost_center", "account"),
    col("month", DATE, "First day of the month.", nullable=False),
    col("cost_center", STR, "Cost centre (team).", nullable=False, synonyms=("cost centre", "team", "department")),
    col("account", STR, "Account code (expense accounts 6000-6400).", nullable=False),
    col("account_name", STR, "Account name, e.g. Payroll.", nullable=False),
    col("budget_usd", F64, "Budgeted amount for the month, USD (a partial month at the window's edge is prorated)."),
    col("planned_on", DATE, "When the budget was set (two weeks before its quarter).", synonyms=("plan date",)),
    synonyms=("budgets", "budget lines", "plan by account"),
)
