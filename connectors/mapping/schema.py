"""Target entity schemas for mapping uploads: fields, value kinds, required flags and multilingual aliases."""

from __future__ import annotations

from dataclasses import dataclass

from connectors.mapping.errors import UnknownEntitySchemaError


@dataclass(frozen=True)
class TargetField:
    name: str
    description: str
    kind: str
    """Value kind the profiler checks: id, person_name, email, phone, company, address, city, postcode,
    country, date, money, sku, text, category, size."""
    required: bool = False
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class TargetSchema:
    entity: str
    table: str
    fields: tuple[TargetField, ...]

    @property
    def required(self) -> list[str]:
        return [f.name for f in self.fields if f.required]

    def field(self, name: str) -> TargetField:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)


CUSTOMERS = TargetSchema(
    "customers",
    "silver.customer_records",
    (
        TargetField("source_id", "Identifier of the customer record in the source system.", "id", True,
                    ("id", "customer id", "client id", "customer number", "cust no", "record id", "kunden nr",
                     "kundennummer", "numero client", "id cliente", "nr", "ref", "account id", "contact id")),
        TargetField("name", "Full name of the person.", "person_name", True,
                    ("full name", "customer name", "client name", "contact name", "name", "nom", "nombre",
                     "nom complet", "vollstandiger name", "kunde", "kundenname", "contact", "person")),
        TargetField("email", "E-mail address.", "email", False,
                    ("email", "e mail", "mail", "email address", "courriel", "correo", "correo electronico",
                     "e mail adresse", "adresse email")),
        TargetField("phone", "Telephone number.", "phone", False,
                    ("phone", "telephone", "tel", "mobile", "cell", "phone number", "telefon", "telefono",
                     "telephone number", "handy", "portable", "contact number")),
        TargetField("company", "Company or organisation.", "company", False,
                    ("company", "organisation", "organization", "employer", "firm", "business", "firma",
                     "unternehmen", "societe", "entreprise", "empresa", "account name")),
        TargetField("address", "Street address.", "address", False,
                    ("address", "street", "street address", "address line 1", "addr", "strasse", "anschrift",
                     "adresse", "direccion", "calle", "rue", "line1")),
        TargetField("city", "City or town.", "city", False,
                    ("city", "town", "locality", "stadt", "ort", "ville", "ciudad", "municipality")),
        TargetField("postcode", "Postal or ZIP code.", "postcode", False,
                    ("postcode", "zip", "zip code", "postal code", "plz", "postleitzahl", "code postal", "cp",
                     "codigo postal", "post code")),
        TargetField("country", "Country name or code.", "country", False,
                    ("country", "nation", "country code", "land", "pays", "pais", "ctry")),
        TargetField("birth_date", "Date of birth.", "date", False,
                    ("birth date", "date of birth", "dob", "birthday", "geburtsdatum", "date de naissance",
                     "fecha de nacimiento", "born", "bday")),
        TargetField("lifetime_value", "Customer lifetime value or total spend.", "money", False,
                    ("lifetime value", "ltv", "clv", "total spend", "revenue", "umsatz", "total", "spend",
                     "chiffre d affaires", "valor", "total sales")),
    ),
)  # fmt: skip

PRODUCTS = TargetSchema(
    "products",
    "silver.product_records",
    (
        TargetField("source_id", "Identifier of the product record in the source system.", "id", True,
                    ("id", "product id", "item id", "record id", "artikel id", "id produit", "id producto",
                     "listing id", "pid")),
        TargetField("sku", "Stock keeping unit / article number.", "sku", False,
                    ("sku", "article number", "item code", "product code", "artikelnummer", "art nr",
                     "reference", "ref produit", "codigo", "part number", "mpn", "item no")),
        TargetField("title", "Product name or title (free text).", "text", True,
                    ("title", "product name", "name", "product", "description", "item name", "bezeichnung",
                     "produktname", "designation", "libelle", "nombre del producto", "item")),
        TargetField("brand", "Brand or manufacturer.", "label", False,
                    ("brand", "manufacturer", "maker", "vendor", "marke", "hersteller", "marque", "marca",
                     "fabricant", "label")),
        TargetField("category", "Product category.", "category", False,
                    ("category", "department", "product group", "type", "kategorie", "warengruppe",
                     "categorie", "categoria", "segment", "dept")),
        TargetField("size", "Pack size with unit.", "size", False,
                    ("size", "volume", "weight", "pack size", "net content", "grosse", "inhalt", "gewicht",
                     "contenance", "taille", "poids", "tamano", "peso", "qty per pack", "content")),
        TargetField("price", "Price.", "money", False,
                    ("price", "unit price", "cost", "retail price", "preis", "prix", "precio", "msrp", "amount",
                     "vk preis", "selling price")),
        TargetField("launch_date", "Launch or listing date.", "date", False,
                    ("launch date", "release date", "listed on", "available from", "erscheinungsdatum",
                     "date de lancement", "fecha de lanzamiento", "created", "listing date", "since")),
    ),
)  # fmt: skip

SCHEMAS: dict[str, TargetSchema] = {"customers": CUSTOMERS, "products": PRODUCTS}


def get_schema(entity: str) -> TargetSchema:
    try:
        return SCHEMAS[entity]
    except KeyError as exc:
        raise UnknownEntitySchemaError(
            f"no target schema {entity!r}", hint=f"choose one of: {', '.join(SCHEMAS)}"
        ) from exc


__all__ = ["CUSTOMERS", "PRODUCTS", "SCHEMAS", "TargetField", "TargetSchema", "get_schema"]
