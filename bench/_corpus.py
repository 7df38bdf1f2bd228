"""A deterministic, varied "operations manual" for the ingest and chat benchmarks — pure, no Django.

Real knowledge bases are policy and product manuals: many short sections under headings, sentences
full of names, numbers and conditions. The generator fills ~30 sentence templates from fixed
vocabularies with a seeded RNG, so chunk lengths and embeddings vary like a real document's, yet every
run produces the same bytes. ``manual_pages`` lays sections out page by page with the same metrics as
``documents.samples.build_pdf`` (a section continues on the next page when it does not fit), and
``questions`` asks about the same topics, so retrieval finds relevant passages above a bot's threshold.
"""

from __future__ import annotations

import random
import textwrap

__all__ = ["manual_pages", "questions"]

PRODUCTS = [
    "robot vacuum R2",
    "robot vacuum R5 Pro",
    "window cleaner W1",
    "lawn mower M3",
    "pool cleaner P7",
    "air purifier A4",
    "dehumidifier D2",
    "smart thermostat T9",
    "charging dock",
    "mopping module",
]
PARTS = [
    "main brush",
    "side brush",
    "HEPA filter",
    "dust bin",
    "battery",
    "cliff sensor",
    "drive wheel",
    "water tank",
    "bumper",
    "lidar turret",
    "charging contacts",
    "blade disc",
]
PLACES = [
    "Germany",
    "France",
    "the Netherlands",
    "Ireland",
    "Spain",
    "Italy",
    "Austria",
    "Belgium",
    "Denmark",
    "Poland",
    "the United Kingdom",
    "Portugal",
]
TEAMS = ["customer service", "warranty", "logistics", "billing", "privacy", "business sales", "repairs"]
PROBLEMS = [
    "stops making suction noise",
    "shows error code E{code}",
    "no longer charges",
    "leaves streaks on the floor",
    "does not turn on",
    "loses its Wi-Fi connection",
    "moves in circles",
    "reports a blocked {part}",
]
REMEDIES = [
    "clean the {part} with a dry cloth and restart the device",
    "reset the device by holding the power button for {n} seconds",
    "update the firmware from the Botwright app and try again",
    "replace the {part}; spare parts ship within {days} working days",
    "contact the {team} team with the serial number printed under the {part}",
    "check that the charging dock stands on a level surface with {n} cm of free space on each side",
]
SECTION_TOPICS = [
    "Returns",
    "Refunds",
    "Exchanges",
    "Warranty",
    "Extended warranty",
    "Shipping",
    "Delivery times",
    "Payments",
    "Instalment plans",
    "Accounts",
    "Privacy and data",
    "Product care",
    "Troubleshooting",
    "Installation",
    "Subscriptions",
    "Business customers",
    "Sustainability",
    "Accessibility",
    "Spare parts",
    "Repairs",
    "Recalls",
    "Gift cards",
    "Loyalty programme",
    "Safety",
]
TEMPLATES = [
    "Customers in {place} who bought a {product} can return it within {days} days of delivery.",
    "Refunds for orders shipped to {place} are paid within {days} days of the item reaching our "
    "warehouse in {city}.",
    "Orders above {amount} euros ship free of charge to {place}; smaller orders pay a flat fee of "
    "{fee} euros.",
    "If your {product} {problem}, {remedy}.",
    "The {team} team answers every request within {n} working days and replies by email.",
    "Owners of a {product} should clean the {part} every {n} weeks to keep it working well.",
    "The {part} of the {product} is covered for {months} months; wear parts such as the {part2} are "
    "consumables and are not covered.",
    "Business customers with more than {n} devices get a dedicated contact in the {team} team.",
    "We collect old devices free of charge in {place} when you buy a new {product}.",
    "Payments by card are charged when the order ships, while bank transfers must arrive within "
    "{days} days or the order is cancelled.",
    "An instalment plan spreads the price of a {product} over {months} months without interest for "
    "orders above {amount} euros.",
    "Spare {part} units for the {product} cost {fee} euros and usually arrive within {days} days.",
    "Deliveries to {place} take {n} to {days} working days; remote islands may take a week longer.",
    "You can change the delivery address until the parcel leaves our warehouse in {city}.",
    "Gift cards are valid for {months} months and can be used for any product, including the {product}.",
    "Members of the loyalty programme collect {n} points per euro and redeem them for spare parts.",
    "Every {product} is tested for {n} hours in {city} before it is packed.",
    "For safety, never run the {product} over wet floors, cables or fringes of rugs.",
    "Personal data such as cleaning maps is stored in {place} and deleted {days} days after you close "
    "your account.",
    "A repair outside the warranty costs a flat {amount} euros plus parts, and the {team} team sends "
    "a quote before any work starts.",
    "Recalled batches of the {product} are listed on our website with their serial number ranges.",
    "The Botwright app shows the state of the {part} and warns you {n} days before it needs replacing.",
    "Our {team} team is available from {open}:00 to {close}:00, Monday to Friday, except public "
    "holidays in {place}.",
    "Screen-reader users can control the {product} entirely from the app, which follows WCAG 2.1 AA.",
    "Subscriptions for filters and brushes renew every {months} months and can be paused at any time.",
    "Packaging is made of {n} per cent recycled cardboard and contains no plastic foam.",
    "Exchanges for a different model are handled as a return followed by a new order, which ships "
    "within {n} working days.",
    "If a parcel arrives damaged, photograph it and report it to the {team} team within {n} days.",
    "The {product} must be installed at least {n} metres from stairs unless virtual walls are set.",
    "Error code E{code} on the {product} means the {part} is blocked or missing.",
]
CITIES = ["Leeds", "Rotterdam", "Lyon", "Leipzig", "Bologna", "Porto", "Gdansk", "Aarhus"]

_LINES_PER_PAGE_BUDGET = 792 - 2 * 72  # points between the top and bottom margins
_BODY_LEADING, _HEADING_LEADING, _WRAP = 14, 22, 88


def _sentence(rng: random.Random) -> str:
    template = rng.choice(TEMPLATES)
    part, part2 = rng.sample(PARTS, 2)
    fills = {
        "product": rng.choice(PRODUCTS),
        "part": part,
        "part2": part2,
        "place": rng.choice(PLACES),
        "city": rng.choice(CITIES),
        "team": rng.choice(TEAMS),
        "n": rng.randint(2, 12),
        "days": rng.choice([7, 10, 14, 21, 30, 45, 60]),
        "months": rng.choice([6, 12, 18, 24, 36]),
        "amount": rng.choice([49, 79, 99, 149, 199, 299]),
        "fee": f"{rng.randint(3, 39)}.{rng.choice(['00', '50', '95', '99'])}",
        "code": rng.randint(10, 99),
        "open": rng.choice([8, 9]),
        "close": rng.choice([17, 18]),
    }
    fills["problem"] = rng.choice(PROBLEMS).format(**fills)
    fills["remedy"] = rng.choice(REMEDIES).format(**fills)
    return template.format(**fills)


def _section(rng: random.Random, number: int) -> list[str]:
    topic = SECTION_TOPICS[number % len(SECTION_TOPICS)]
    heading = f"# {number + 1}. {topic}: {rng.choice(PRODUCTS)} in {rng.choice(PLACES)}"
    # Mostly short paragraphs, now and then a long one, as in real manuals.
    paragraphs = [
        " ".join(_sentence(rng) for _ in range(rng.choice([2, 3, 3, 4, 5, 8])))
        for _ in range(rng.randint(1, 4))
    ]
    return [heading, *paragraphs]


def _height(paragraph: str, first: bool) -> int:
    leading = _HEADING_LEADING if paragraph.startswith("# ") else _BODY_LEADING
    lines = len(textwrap.wrap(paragraph.removeprefix("# "), _WRAP)) or 1
    return (0 if first else leading) + lines * leading


def manual_pages(pages: int, *, seed: int = 7) -> list[list[str]]:
    """``pages`` pages of sections for ``build_pdf`` (headings start with ``"# "``), same for a seed."""
    rng = random.Random(seed)
    laid_out: list[list[str]] = [[]]
    used = 0
    number = 0
    while True:
        for paragraph in _section(rng, number):
            height = _height(paragraph, not laid_out[-1])
            # Keep a margin of two lines: build_pdf's own wrap check is stricter than this estimate.
            if used + height > _LINES_PER_PAGE_BUDGET - 2 * _BODY_LEADING:
                if len(laid_out) == pages:
                    return laid_out
                laid_out.append([])
                used = 0
                height = _height(paragraph, True)
            laid_out[-1].append(paragraph)
            used += height
        number += 1


def questions(count: int, *, seed: int = 11) -> list[str]:
    """``count`` customer questions about the manual's topics, same for a seed."""
    rng = random.Random(seed)
    forms = [
        "How long do refunds take for orders shipped to {place}?",
        "Is the {part} of the {product} covered by the warranty?",
        "What should I do if my {product} {problem}?",
        "How often should I clean the {part}?",
        "How much does shipping to {place} cost?",
        "Can I pay for a {product} in instalments?",
        "When is the {team} team available?",
        "What does error code E{code} mean?",
        "How do I return a {product}?",
        "Where is my cleaning map data stored?",
    ]
    out = []
    for i in range(count):
        fills = {
            "place": rng.choice(PLACES),
            "part": rng.choice(PARTS),
            "product": rng.choice(PRODUCTS),
            "team": rng.choice(TEAMS),
            "code": rng.randint(10, 99),
        }
        fills["problem"] = rng.choice(PROBLEMS).format(**fills)
        out.append(forms[i % len(forms)].format(**fills))
    return out
