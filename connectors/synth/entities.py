"""Messy synthetic customers and products with known truth, for entity reconciliation and demos.

Public API (stable; ``covary source synth`` calls it)::

    generate(kind, n_entities, *, seed=0, variant_seed=None, entity_offset=0,
             duplicate_rate=0.6, max_copies=4, sources=DEFAULT_SOURCES) -> SynthEntities

``kind`` is ``"customers"`` or ``"products"``. Entity number ``i`` (``entity_offset <= i <
entity_offset + n_entities``) is the same person/product for a given ``seed`` whatever the other
arguments, so ``generate(kind, n, seed=s, variant_seed=v2)`` yields *new messy copies of the same
entities* (a new duplicate for an existing entity) and ``entity_offset=n`` yields *unrelated*
entities. Each entity appears in 1..``max_copies`` records (``duplicate_rate`` of entities have more
than one), spread over ``sources``; copies differ by typos, honorifics, company suffixes, case,
phone/date/number formats, unit variants (750 ml / 0.75 L / 75cl) and SKU spellings.

``SynthEntities.records`` are plain dicts in the target schema of ``silver.customer_records`` /
``silver.product_records`` (all values strings or None, like an uploaded file), each with ``source``
and ``source_id``; ``SynthEntities.truth`` maps ``"source:source_id"`` to the true entity id
(``"C000042"`` / ``"P000042"``). Records are shuffled deterministically.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["customers", "products"]
DEFAULT_SOURCES: tuple[str, ...] = ("crm", "webshop", "upload")


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST = _words(
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan Joseph "
    "Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy Matthew Betty Anthony Margaret Mark Sandra "
    "Donald Ashley Steven Kimberly Paul Emily Andrew Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Dorothy "
    "George Melissa Timothy Deborah Ronald Stephanie Edward Rebecca Jason Sharon Jeffrey Laura Ryan Cynthia Jacob "
    "Kathleen Gary Amy Nicholas Angela Eric Shirley Jonathan Anna Stephen Brenda Larry Pamela Justin Emma Scott "
    "Nicole Brandon Helen Benjamin Samantha Samuel Katherine Gregory Christine Alexander Debra Frank Rachel Patrick "
    "Carolyn Raymond Janet Jack Catherine Dennis Maria Jerry Heather Tyler Diane Aaron Ruth Jose Julie Adam Olivia "
    "Henry Joyce Nathan Virginia Douglas Victoria Zachary Kelly Peter Lauren Kyle Christina Noah Joan Ethan Evelyn "
    "Jeremy Judith Walter Megan Christian Andrea Keith Cheryl Roger Hannah Terry Jacqueline Austin Martha Sean Gloria "
    "Gerald Teresa Carl Ann Harold Sara Dylan Madison Arthur Frances Lawrence Kathryn Jordan Janice Jesse Jean Bryan "
    "Abigail Billy Alice Bruce Judy Gabriel Sophia Joe Grace Logan Denise Alan Amber Juan Doris Albert Marilyn Willie "
    "Danielle Elijah Beverly Wayne Isabella Randy Theresa Vincent Diana Mason Natalie Roy Brittany Ralph Charlotte "
    "Bobby Marie Russell Kayla Bradley Alexis Philip Lori Eugene Jörg Anaïs Søren Zoë Renée José"
)
LAST = _words(
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson "
    "Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis Robinson "
    "Walker Young Allen King Wright Scott Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell "
    "Mitchell Carter Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart Morris Morales "
    "Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed Kelly Howard Ramos Kim Cox Ward Richardson "
    "Watson Brooks Chavez Wood James Bennett Gray Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long "
    "Ross Foster Jimenez Powell Jenkins Perry Russell Sullivan Bell Coleman Butler Henderson Barnes Gonzales Fisher "
    "Vasquez Simmons Romero Jordan Patterson Alexander Hamilton Graham Reynolds Griffin Wallace Moreno West Cole Hayes "
    "Bryant Herrera Gibson Ellis Tran Medina Aguilar Stevens Murray Ford Castro Marshall Owens Harrison Fernandez "
    "McDonald Woods Washington Kennedy Wells Vargas Henry Chen Freeman Webb Tucker Guzman Burns Crawford Olson Simpson "
    "Porter Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon Munoz Hunt Hicks Holmes Palmer Wagner Black Robertson "
    "Boyd Rose Stone Salazar Fox Warren Mills Meyer Rice Schmidt Garza Daniels Ferguson Nichols Stephens Soto Weaver "
    "Ryan Gardner Payne Grant Dunn Kelley Spencer Hawkins Arnold Pierce Hansen Peters Santos Hart Bradley Knight "
    "Müller Schröder O'Brien Lindqvist Dubois Rossi Kowalski Novak Jansen Eriksen"
)
HONORIFICS = ("Mr.", "Mrs.", "Ms.", "Dr.", "Mr", "Mrs", "Prof.", "Miss")
COMPANY_WORDS = _words(
    "Acme Globex Initech Umbrella Hooli Vandelay Stark Wayne Wonka Soylent Cyberdyne Tyrell Gringotts Oscorp "
    "Aperture Monarch Massive Dynamic Virtucon Nakatomi Sirius Blue Sun Northwind Contoso Fabrikam Litware Adatum "
    "Tailspin Wingtip Proseware Lucerne Woodgrove Margie Alpine Bellows Coho Fourth Humongous Trey Lamna Relecloud"
)
COMPANY_TAILS = ("Trading", "Logistics", "Foods", "Systems", "Holdings", "Labs", "Partners", "Supply", "Media", "")
SUFFIX_VARIANTS = (
    ("Inc.", "Inc", "Incorporated", ", Inc."),
    ("LLC", "L.L.C.", "llc"),
    ("Ltd", "Ltd.", "Limited"),
    ("GmbH", "G.m.b.H.", "Gmbh"),
    ("Corp.", "Corporation", "Corp"),
)
STREETS = _words(
    "Oak Maple Pine Cedar Elm Washington Lake Hill Park Main Church High Mill Station River Spring Ridge Sunset "
    "Highland Forest Meadow Willow Chestnut Walnut Cherry Franklin Lincoln Jefferson Madison Adams"
)
STREET_TYPES = (("Street", "St.", "St", "str."), ("Avenue", "Ave.", "Ave"), ("Road", "Rd.", "Rd"), ("Lane", "Ln."))
CITIES = (
    ("Springfield", "US"),
    ("Portland", "US"),
    ("Austin", "US"),
    ("Denver", "US"),
    ("Boston", "US"),
    ("Seattle", "US"),
    ("Chicago", "US"),
    ("Toronto", "CA"),
    ("London", "GB"),
    ("Manchester", "GB"),
    ("Berlin", "DE"),
    ("München", "DE"),
    ("Paris", "FR"),
    ("Lyon", "FR"),
    ("Madrid", "ES"),
    ("Amsterdam", "NL"),
)
COUNTRY_VARIANTS = {
    "US": ("US", "USA", "United States", "U.S.A."),
    "CA": ("CA", "Canada", "CAN"),
    "GB": ("GB", "UK", "United Kingdom", "Great Britain"),
    "DE": ("DE", "Germany", "Deutschland"),
    "FR": ("FR", "France"),
    "ES": ("ES", "Spain", "España"),
    "NL": ("NL", "Netherlands", "Holland"),
}
MAIL_DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "proton.me", "mail.de", "web.de", "icloud.com")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

BRANDS = _words(
    "Acme Northwind Contoso Fabrikam Globex Initech Vandelay Hooli Zenith Apex Summit Everest Polaris Orion Nova "
    "Vertex Lumen Terra Aqua Solis Boreal Cobalt Ember Fjord Granite Harbor Juniper Kestrel Lark Meridian"
)
PRODUCT_TYPES = (
    # (noun, category, unit family, base sizes)
    ("water bottle", "kitchen", "volume", (500, 750, 1000)),
    ("olive oil", "grocery", "volume", (250, 500, 1000)),
    ("coffee beans", "grocery", "mass", (250, 500, 1000)),
    ("dog food", "pets", "mass", (2000, 5000, 10000)),
    ("shampoo", "beauty", "volume", (200, 300, 500)),
    ("laundry detergent", "household", "volume", (1000, 1500, 3000)),
    ("green tea", "grocery", "mass", (50, 100, 250)),
    ("protein powder", "health", "mass", (500, 1000, 2000)),
    ("dish soap", "household", "volume", (450, 750, 1000)),
    ("rice", "grocery", "mass", (1000, 2000, 5000)),
    ("sunscreen", "beauty", "volume", (50, 100, 200)),
    ("flour", "grocery", "mass", (500, 1000, 2500)),
)
ADJECTIVES = _words(
    "organic stainless classic premium extra virgin dark roast sensitive fresh lemon mint original sport family "
    "natural lightweight insulated gentle unscented herbal whole grain basmati wild"
)
COLORS = ("blue", "black", "red", "green", "white", "silver", "orange", "")


@dataclass(frozen=True)
class SynthEntities:
    """Messy records plus their ground truth (``"source:source_id"`` -> true entity id)."""

    kind: Kind
    records: list[dict[str, Any]]
    truth: dict[str, str] = field(default_factory=dict)

    @property
    def entity_ids(self) -> list[str]:
        """True entity id of each record, aligned with ``records``."""
        return [self.truth[f"{r['source']}:{r['source_id']}"] for r in self.records]

    def true_pairs(self) -> set[tuple[str, str]]:
        """Every unordered pair of record keys that belong to the same true entity."""
        groups: dict[str, list[str]] = {}
        for key, ent in self.truth.items():
            groups.setdefault(ent, []).append(key)
        pairs: set[tuple[str, str]] = set()
        for keys in groups.values():
            keys.sort()
            pairs.update((a, b) for i, a in enumerate(keys) for b in keys[i + 1 :])
        return pairs


def generate(
    kind: Kind,
    n_entities: int,
    *,
    seed: int = 0,
    variant_seed: int | None = None,
    entity_offset: int = 0,
    duplicate_rate: float = 0.6,
    max_copies: int = 4,
    sources: Sequence[str] = DEFAULT_SOURCES,
) -> SynthEntities:
    """``n_entities`` true customers/products as messy records from ``sources`` (see module docstring)."""
    if kind not in ("customers", "products"):
        raise ValueError(f"kind must be 'customers' or 'products', not {kind!r}")
    if n_entities < 0 or max_copies < 1 or not sources:
        raise ValueError("n_entities >= 0, max_copies >= 1 and at least one source are required")
    vseed = seed if variant_seed is None else variant_seed
    make_copy, prefix = (_messy_customer, "C") if kind == "customers" else (_messy_product, "P")
    records: list[dict[str, Any]] = []
    truth: dict[str, str] = {}
    for i in range(entity_offset, entity_offset + n_entities):
        base = _related(kind, seed, i)
        rng = random.Random(f"{vseed}:{kind}:{i}:copies")
        copies = 1
        if rng.random() < duplicate_rate:
            copies = rng.randint(2, max(2, max_copies))
        entity_id = f"{prefix}{i:06d}"
        for c in range(copies):
            source = sources[(i + c) % len(sources)] if c < len(sources) else rng.choice(list(sources))
            rec = make_copy(base, rng, clean=(c == 0 and rng.random() < 0.5))
            rec["source"] = source
            rec["source_id"] = f"{source[:3]}-{vseed}-{i}-{c}"
            records.append(rec)
            truth[f"{source}:{rec['source_id']}"] = entity_id
    random.Random(f"{seed}:{vseed}:{kind}:shuffle:{entity_offset}").shuffle(records)
    return SynthEntities(kind, records, truth)


def _related(kind: Kind, seed: int, i: int) -> dict[str, Any]:
    """Entity ``i``; some are hard negatives that share a lot with entity ``i - 1`` but are distinct.

    Customers: ~12% are a household member of the previous person (same surname, address and often
    phone, different first name, e-mail and birth date) and ~4% are namesakes (same name, nothing
    else). Products: ~20% are a sibling variant of the previous product (same brand and title
    words, different pack size, SKU and price).
    """
    make_base = _base_customer if kind == "customers" else _base_product
    base = make_base(random.Random(f"{seed}:{kind}:{i}"))
    if i == 0:
        return base
    rng = random.Random(f"{seed}:{kind}:{i}:related")
    roll = rng.random()
    if kind == "customers" and roll < 0.16:
        prev = make_base(random.Random(f"{seed}:{kind}:{i - 1}"))
        if roll < 0.12:
            keys = ["last", "street", "city", "country", "postcode"] + (["phone"] if rng.random() < 0.6 else [])
        else:
            keys = ["first", "last"]
        base.update({k: prev[k] for k in keys})
    elif kind == "products" and roll < 0.2:
        prev = make_base(random.Random(f"{seed}:{kind}:{i - 1}"))
        sizes = next(t[3] for t in PRODUCT_TYPES if t[0] == prev["noun"])
        other = [x for x in sizes if x != prev["size"]]
        base.update(
            {k: prev[k] for k in ("brand", "brand_suffix", "noun", "adjectives", "color", "category", "family")}
        )
        base["size"] = rng.choice(other)
    return base


# ----------------------------------------------------------------------------------- customers
def _base_customer(rng: random.Random) -> dict[str, Any]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    city, country = rng.choice(CITIES)
    company = None
    if rng.random() < 0.45:
        tail = rng.choice(COMPANY_TAILS)
        company = (rng.choice(COMPANY_WORDS), tail, rng.randrange(len(SUFFIX_VARIANTS)))
    handle = rng.choice(
        (f"{first}.{last}", f"{first[0]}{last}", f"{first}{rng.randint(1, 99)}", f"{last}.{first[0]}")
    ).lower()
    return {
        "first": first,
        "last": last,
        "honorific": rng.choice(HONORIFICS) if rng.random() < 0.5 else None,
        "email": f"{_ascii(handle)}{rng.randint(1, 999)}@{rng.choice(MAIL_DOMAINS)}",
        "phone": (rng.randint(200, 989), rng.randint(200, 999), rng.randint(0, 9999)),
        "street": (rng.randint(1, 9999), rng.choice(STREETS), rng.randrange(len(STREET_TYPES))),
        "city": city,
        "country": country,
        "postcode": f"{rng.randint(10000, 99999)}",
        "company": company,
        "birth": (rng.randint(1940, 2004), rng.randint(1, 12), rng.randint(1, 28)),
        "ltv": round(rng.lognormvariate(6, 1.2), 2),
    }


def _messy_customer(base: dict[str, Any], rng: random.Random, *, clean: bool) -> dict[str, Any]:
    first, last = base["first"], base["last"]
    if not clean:
        first, last = _typo(first, rng, 0.25), _typo(last, rng, 0.2)
        if rng.random() < 0.15:
            first = first[0] + "."
    style = 0 if clean else rng.randrange(4)
    name = (f"{first} {last}", f"{last}, {first}", f"{first} {last}".upper(), f"{first.lower()} {last.lower()}")[style]
    if base["honorific"] and (clean or rng.random() < 0.6):
        name = f"{base['honorific']} {name}"
    email = base["email"]
    if not clean:
        r = rng.random()
        email = email.upper() if r < 0.15 else (None if r < 0.27 else (_typo(email, rng, 1.0) if r < 0.32 else email))
        if email and rng.random() < 0.1:  # a second (work) address
            email = f"{_ascii(first.lower())}.{_ascii(last.lower())}@{rng.choice(MAIL_DOMAINS)}"
    a, b, c = base["phone"]
    formats = (
        f"+1 ({a}) {b}-{c:04d}",
        f"{a}.{b}.{c:04d}",
        f"{a}-{b}-{c:04d}",
        f"001{a}{b}{c:04d}",
        f"({a}) {b} {c:04d}",
    )
    phone = formats[0] if clean else (None if rng.random() < 0.15 else rng.choice(formats))
    num, street, t = base["street"]
    types = STREET_TYPES[t]
    address = f"{num} {street} {types[0] if clean else rng.choice(types)}"
    if not clean and rng.random() < 0.3:
        address = f"{street} {rng.choice(types)} {num}"
    if not clean and rng.random() < 0.15:
        address = _typo(address, rng, 1.0)
    company = None
    if base["company"]:
        word, tail, suffix_idx = base["company"]
        suffix = SUFFIX_VARIANTS[suffix_idx][0] if clean else rng.choice(SUFFIX_VARIANTS[suffix_idx])
        company = f"{word} {tail}".strip()
        company = f"{company}{suffix}" if suffix.startswith(",") else f"{company} {suffix}"
        if not clean and rng.random() < 0.2:
            company = company.upper()
        if not clean and rng.random() < 0.15:
            company = None
    y, m, d = base["birth"]
    if not clean and rng.random() < 0.06:  # a keying error in the day
        d = d % 28 + 1
    dates = (f"{y:04d}-{m:02d}-{d:02d}", f"{m:02d}/{d:02d}/{y:04d}", f"{d}.{m}.{y}", f"{d} {MONTHS[m - 1]} {y}")
    birth_date = dates[0] if clean else (None if rng.random() < 0.25 else rng.choice(dates))
    ltv = base["ltv"]
    money = (
        f"{ltv:.2f}",
        f"{ltv:,.2f}",
        f"{ltv:,.2f}".replace(",", "X").replace(".", ",").replace("X", "."),
        f"${ltv}",
    )
    return {
        "name": name,
        "email": email,
        "phone": phone,
        "company": company,
        "address": address,
        "city": base["city"] if clean or rng.random() > 0.1 else base["city"].upper(),
        "postcode": base["postcode"] if clean or rng.random() > 0.1 else None,
        "country": rng.choice(COUNTRY_VARIANTS[base["country"]]) if not clean else base["country"],
        "birth_date": birth_date,
        "lifetime_value": money[0] if clean else rng.choice(money),
    }


# ------------------------------------------------------------------------------------ products
def _base_product(rng: random.Random) -> dict[str, Any]:
    noun, category, family, sizes = rng.choice(PRODUCT_TYPES)
    letters = "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(rng.choice((2, 3))))
    return {
        "brand": rng.choice(BRANDS),
        "brand_suffix": rng.randrange(len(SUFFIX_VARIANTS)) if rng.random() < 0.4 else None,
        "noun": noun,
        "adjectives": rng.sample(ADJECTIVES, 2),
        "color": rng.choice(COLORS),
        "category": category,
        "family": family,
        "size": rng.choice(sizes),
        "sku": (letters, rng.randint(100, 99999)),
        "price": round(rng.uniform(1.5, 120), 2),
        "launch": (rng.randint(2010, 2024), rng.randint(1, 12), rng.randint(1, 28)),
    }


def _size_text(family: str, size: int, rng: random.Random, clean: bool) -> str:
    if family == "volume":
        options = [f"{size} ml", f"{size}ml", f"{size / 1000:g} L", f"{size / 10:g}cl", f"{size / 29.5735:.1f} fl oz"]
    else:
        options = [f"{size} g", f"{size}g", f"{size / 1000:g} kg", f"{size / 453.592:.2f} lb"]
    return options[0] if clean else rng.choice(options[:-1] if rng.random() < 0.8 else options)


def _messy_product(base: dict[str, Any], rng: random.Random, *, clean: bool) -> dict[str, Any]:
    letters, number = base["sku"]
    sku_forms = (f"{letters}-{number}", f"{letters}{number}", f"{letters.lower()}-{number}", f"{letters} {number:06d}")
    sku = sku_forms[0] if clean else (None if rng.random() < 0.12 else rng.choice(sku_forms))
    brand = base["brand"]
    if base["brand_suffix"] is not None and (clean or rng.random() < 0.6):
        brand = f"{brand} {rng.choice(SUFFIX_VARIANTS[base['brand_suffix']]).lstrip(', ')}"
    size = _size_text(base["family"], base["size"], rng, clean)
    words = [*base["adjectives"], base["noun"]]
    if base["color"]:
        words.append(base["color"])
    if clean:
        title = f"{base['brand']} {' '.join(words)} {size}"
    else:
        style = rng.randrange(4)
        if style == 0:
            title = f"{base['brand']} {' '.join(words)} {size}"
        elif style == 1:
            title = f"{base['noun'].title()}, {' '.join(base['adjectives'])} - {base['brand'].upper()} ({size})"
        elif style == 2:
            title = f"{' '.join(words).title()} {size} by {base['brand']}"
        else:
            shuffled = words[:]
            rng.shuffle(shuffled)
            title = f"{base['brand']} {' '.join(shuffled)} {size}"
        title = _typo(title, rng, 0.3)
    price = base["price"]
    prices = (f"{price:.2f}", f"{price:.2f}".replace(".", ","), f"EUR {price:.2f}", f"{price:.2f} €", f"${price:.2f}")
    y, m, d = base["launch"]
    return {
        "sku": sku,
        "title": title,
        "brand": brand if clean or rng.random() > 0.1 else None,
        "category": base["category"] if clean or rng.random() > 0.2 else base["category"].title(),
        "size": size,
        "price": prices[0] if clean else rng.choice(prices),
        "launch_date": f"{y:04d}-{m:02d}-{d:02d}"
        if clean
        else rng.choice((f"{y:04d}-{m:02d}-{d:02d}", f"{d}/{m}/{y}")),
    }


# -------------------------------------------------------------------------------------- noise
def _typo(text: str, rng: random.Random, prob: float) -> str:
    """With probability ``prob``, one keyboard-style typo (swap, drop, double or replace a letter)."""
    if len(text) < 4 or rng.random() >= prob:
        return text
    i = rng.randrange(1, len(text) - 1)
    op = rng.randrange(4)
    if op == 0:
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    if op == 1:
        return text[:i] + text[i + 1 :]
    if op == 2:
        return text[:i] + text[i] + text[i:]
    return text[:i] + rng.choice("aeiourstnl") + text[i + 1 :]


def _ascii(text: str) -> str:
    table = str.maketrans({"ö": "oe", "ü": "ue", "ä": "ae", "ø": "o", "ï": "i", "ë": "e", "é": "e", "'": ""})
    return text.translate(table)


__all__ = ["DEFAULT_SOURCES", "Kind", "SynthEntities", "generate"]
