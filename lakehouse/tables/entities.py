"""Entity tables: source records, canonical customers/products, the crosswalk, the audit and saved mappings."""

from __future__ import annotations

import pyarrow as pa

from lakehouse.registry import Column, TableSpec, col, register

TS = pa.timestamp("us", tz="UTC")

_RECORD_COMMON: tuple[Column, ...] = (
    col("source", pa.string(), "System or upload the record came from (crm, webshop, an upload name).", nullable=False),
    col("source_id", pa.string(), "The record's id in its source system.", nullable=False),
    col("ingested_at", TS, "When covary received this version of the record (UTC).", nullable=False),
)

CUSTOMER_RECORDS = register(
    TableSpec(
        name="silver.customer_records",
        description=(
            "Customer records as each source or upload describes them, mapped onto covary's customer schema "
            "but not yet reconciled: the same person can appear many times. Input of the reconcile job."
        ),
        columns=(
            *_RECORD_COMMON,
            col(
                "name",
                pa.string(),
                "Full name of the person as written (may include an honorific).",
                synonyms=("customer name", "full name", "client", "contact name"),
                pii=True,
            ),
            col("email", pa.string(), "E-mail address.", synonyms=("e-mail", "mail", "email address"), pii=True),
            col(
                "phone",
                pa.string(),
                "Telephone number in any format.",
                synonyms=("telephone", "mobile", "tel"),
                pii=True,
            ),
            col(
                "company",
                pa.string(),
                "Company or organisation the customer belongs to.",
                synonyms=("organisation", "employer", "firm", "business"),
            ),
            col(
                "address",
                pa.string(),
                "Street address (number and street).",
                synonyms=("street", "address line"),
                pii=True,
            ),
            col("city", pa.string(), "City or town.", synonyms=("town", "locality")),
            col("postcode", pa.string(), "Postal or ZIP code.", synonyms=("zip", "postal code", "zip code")),
            col("country", pa.string(), "Country name or code.", synonyms=("nation", "country code")),
            col(
                "birth_date",
                pa.string(),
                "Date of birth as written in the source.",
                synonyms=("dob", "birthday"),
                pii=True,
            ),
            col(
                "lifetime_value",
                pa.string(),
                "Customer lifetime value / total spend as written.",
                synonyms=("ltv", "total spend", "revenue"),
            ),
        ),
        keys=("source", "source_id"),
        write_mode="merge",
        synonyms=("customer records", "raw customers", "contacts"),
    )
)

PRODUCT_RECORDS = register(
    TableSpec(
        name="silver.product_records",
        description=(
            "Product records as each source or upload describes them, mapped onto covary's product schema "
            "but not yet reconciled. Input of the reconcile job."
        ),
        columns=(
            *_RECORD_COMMON,
            col("sku", pa.string(), "Stock keeping unit / article number.", synonyms=("article number", "item code")),
            col("title", pa.string(), "Product name or free-form title.", synonyms=("product name", "description")),
            col("brand", pa.string(), "Brand or manufacturer.", synonyms=("manufacturer", "maker", "vendor")),
            col("category", pa.string(), "Product category.", synonyms=("department", "group", "type")),
            col("size", pa.string(), "Pack size with unit (750 ml, 1 kg, ...).", synonyms=("volume", "weight")),
            col("price", pa.string(), "Price as written (any currency format).", synonyms=("unit price", "cost")),
            col("launch_date", pa.string(), "Launch or listing date as written.", synonyms=("release date",)),
        ),
        keys=("source", "source_id"),
        write_mode="merge",
        synonyms=("product records", "raw products", "items"),
    )
)

_CANONICAL_COMMON: tuple[Column, ...] = (
    col(
        "entity_id", pa.string(), "Stable canonical id of the entity (never reused, kept across runs).", nullable=False
    ),
    col(
        "status",
        pa.string(),
        "active | merged (absorbed into merged_into) | retired (no records left).",
        nullable=False,
    ),
    col("merged_into", pa.string(), "For merged entities: the surviving entity id."),
    col("record_count", pa.int64(), "Number of source records that belong to the entity.", nullable=False),
    col("sources", pa.list_(pa.string()), "Distinct sources that describe the entity."),
    col("first_seen", TS, "When the entity was created (UTC).", nullable=False),
    col("updated_at", TS, "When membership or golden values last changed (UTC).", nullable=False),
    col("run_id", pa.string(), "Reconcile run that last changed the entity.", nullable=False),
)

CUSTOMERS = register(
    TableSpec(
        name="silver.customers",
        description=(
            "Canonical customers: one row per real person, reconciled across sources and uploads, with "
            "golden values chosen from the member records (most frequent normalised value)."
        ),
        columns=(
            *_CANONICAL_COMMON,
            col("name", pa.string(), "Normalised full name (no honorific), title case.", pii=True),
            col("email", pa.string(), "Normalised e-mail (lower case).", pii=True),
            col("phone", pa.string(), "Phone as digits (E.164 without +).", pii=True),
            col("company", pa.string(), "Company name without legal suffix."),
            col("address", pa.string(), "Normalised street address.", pii=True),
            col("city", pa.string(), "City."),
            col("postcode", pa.string(), "Postal code."),
            col("country", pa.string(), "ISO 3166-1 alpha-2 country code."),
            col("birth_date", pa.date32(), "Date of birth.", pii=True),
            col("lifetime_value", pa.float64(), "Sum of the distinct lifetime values reported, in the source unit."),
        ),
        keys=("entity_id",),
        write_mode="merge",
        synonyms=("customers", "clients", "canonical customers", "golden customers"),
    )
)

PRODUCTS = register(
    TableSpec(
        name="silver.products",
        description="Canonical products: one row per real product, reconciled across sources and uploads.",
        columns=(
            *_CANONICAL_COMMON,
            col("sku", pa.string(), "Normalised SKU (upper case, no separators, no leading zeros in the number)."),
            col("title", pa.string(), "Most common product title."),
            col("brand", pa.string(), "Brand without legal suffix."),
            col("category", pa.string(), "Category (lower case)."),
            col("size_value", pa.float64(), "Pack size in the base unit (ml or g)."),
            col("size_unit", pa.string(), "Base unit of size_value: ml or g."),
            col("price", pa.float64(), "Median price across member records."),
        ),
        keys=("entity_id",),
        write_mode="merge",
        synonyms=("products", "items", "catalogue", "canonical products"),
    )
)

CROSSWALK = register(
    TableSpec(
        name="silver.entity_crosswalk",
        description=(
            "Crosswalk from each source record to its canonical entity id, with the match probability that "
            "put it there. Join source data to canonical entities through this table."
        ),
        columns=(
            col("entity_type", pa.string(), "customers or products.", nullable=False),
            col("source", pa.string(), "Source of the record.", nullable=False),
            col("source_id", pa.string(), "Id of the record in its source.", nullable=False),
            col("entity_id", pa.string(), "Canonical entity id the record belongs to.", nullable=False),
            col("match_probability", pa.float64(), "Best match probability to a fellow member (1 for founders)."),
            col("record_hash", pa.string(), "Hash of the record's content when it was assigned.", nullable=False),
            col("assigned_at", TS, "When the record was (re)assigned (UTC).", nullable=False),
            col("run_id", pa.string(), "Reconcile run that assigned it.", nullable=False),
        ),
        keys=("entity_type", "source", "source_id"),
        write_mode="merge",
        synonyms=("crosswalk", "id mapping", "record to entity"),
    )
)

AUDIT = register(
    TableSpec(
        name="silver.entity_audit",
        description=(
            "Append-only audit of entity changes made by reconcile runs: create, join, merge, split, move, "
            "retire, each with the records involved and the reason (probabilities and fields)."
        ),
        columns=(
            col("run_id", pa.string(), "Reconcile run.", nullable=False),
            col("entity_type", pa.string(), "customers or products.", nullable=False),
            col("event", pa.string(), "create | join | merge | split | move | retire.", nullable=False),
            col("entity_id", pa.string(), "Entity the event is about (the survivor of a merge).", nullable=False),
            col("other_entity_id", pa.string(), "Merged-away entity, split-off entity or previous entity."),
            col("records", pa.list_(pa.string()), "Record keys (source:source_id) involved."),
            col("probability", pa.float64(), "Match probability behind the decision, if any."),
            col("reason", pa.string(), "Why, in words.", nullable=False),
            col("at", TS, "When (UTC).", nullable=False),
        ),
        partition_by=("entity_type",),
        synonyms=("entity audit", "merge history", "split history"),
    )
)

SCHEMA_MAPPINGS = register(
    TableSpec(
        name="ops.schema_mappings",
        description=(
            "Applied column mappings of uploaded files onto entity schemas, one row per source column and "
            "mapping version; the latest version of a (source, entity) is reused for its next file."
        ),
        columns=(
            col("source", pa.string(), "Upload/source name.", nullable=False),
            col("entity", pa.string(), "Target entity: customers or products.", nullable=False),
            col("version", pa.int64(), "Mapping version (1, 2, ...) for this source and entity.", nullable=False),
            col("source_column", pa.string(), "Column name in the uploaded file.", nullable=False),
            col("target_column", pa.string(), "Target field, or null when the column is ignored."),
            col("confidence", pa.float64(), "Suggested confidence when it was reviewed (1.0 = edited by hand)."),
            col("method", pa.string(), "suggested | llm | edited | saved.", nullable=False),
            col("applied_at", TS, "When the mapping was applied (UTC).", nullable=False),
        ),
        keys=("source", "entity", "version", "source_column"),
        track_loads=False,
        synonyms=("mappings", "column mappings"),
    )
)

__all__ = ["AUDIT", "CROSSWALK", "CUSTOMERS", "CUSTOMER_RECORDS", "PRODUCTS", "PRODUCT_RECORDS", "SCHEMA_MAPPINGS"]
