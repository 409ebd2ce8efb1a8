"""Prompt text: the benign prompt grammar and the text banks of every family, and the vectorised builders of
benign, campaign, agent, benchmark and exercise prompts.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from forensics.synth.families import DAYS
from forensics.synth.helpers import assemble, concat_text, num, pick_text, sample_pmf, splitmix

if TYPE_CHECKING:
    from forensics.synth.population import Campaign


# Benign prompt grammar: openers x tasks x (adjective noun) x tails gives tens of millions of prompts.
COMMON_PROMPTS = ("hi", "test", "hello", "Hi", "hey", "ping", "thanks", "Hello!", "test 123", "ok")
_COMMON_W = np.array([30, 22, 12, 8, 6, 5, 5, 4, 4, 4], dtype=float)
_OPENERS = (
    "", "", "", "Can you ", "Please ", "hey, ", "Quick question: ", "I need help. ", "Could you ", "pls ", "Help me ",
    "ok so ", "Hi! Can you ",
)
_TASKS = (
    "explain ", "summarize ", "write a short poem about ", "give me ideas for ", "what is ", "how do I deal with ",
    "write an email about ", "compare ", "list pros and cons of ", "tell me a fun fact about ", "draft a tweet about ",
    "make a shopping list for ", "translate into Spanish: ", "rewrite more politely: my message about ",
    "create a study plan for ", "suggest names for ", "what should I know about ", "plan a weekend around ",
    "write a haiku about ", "give feedback on my essay about ", "brainstorm a story about ", "write a cover letter mentioning ",
    "describe ", "outline a presentation on ", "help me understand ",
)
_ADJECTIVES = (
    "cheap", "healthy", "vintage", "local", "remote", "quick", "modern", "classic", "small", "electric", "urban", "organic",
    "beginner", "advanced", "weekly", "seasonal", "family", "quiet", "noisy", "budget", "luxury", "sustainable",
    "open-source", "rainy-day", "late-night", "holiday", "indoor", "outdoor", "first-time", "long-distance",
)
_NOUNS = (
    "sourdough bread", "marathon training", "python decorators", "tax returns", "houseplants", "job interviews",
    "wedding speeches", "cat behaviour", "espresso machines", "solar panels", "mortgage rates", "knitting patterns",
    "chess openings", "react hooks", "spreadsheet formulas", "road trips", "camping gear", "birthday parties",
    "meal prep", "guitar chords", "photosynthesis", "black holes", "the french revolution", "supply chains",
    "sleep schedules", "budget apps", "dog training", "car insurance", "linear regression", "climate policy",
    "board games", "podcast ideas", "resume bullet points", "kitchen renovations", "language learning",
    "running shoes", "vegetable gardens", "startup pitches", "team meetings", "customer complaints", "sql joins",
    "docker containers", "fantasy novels", "birdwatching", "yoga routines", "bike repairs", "coffee shops",
    "museum visits", "online courses", "newsletters", "email etiquette", "time management", "moving house",
)
_TAILS = (
    "", "", "?", ".", " in simple terms", " for a 10 year old", " in 3 bullet points", " please", " (short answer)",
    " with examples", " thx", " - keep it under 100 words", " for my blog", " for work", " asap",
)
_CODE_TASKS = (
    "fix this code: def total(xs): return sum(x for x in xs if x > ",
    "why does this fail? for i in range(len(items)): print(items[i + ",
    "explain this regex: ^[a-z]{",
    "convert to typescript: function add(a, b) { return a + b + ",
    "optimize: SELECT * FROM orders WHERE amount > ",
)
_CODE_CLOSERS = (")", "])", "}$", " }", " ORDER BY created_at")
_REASONING_BENIGN = (
    "explain step by step how ", "walk me through how ", "can you show your work for how ", "step by step, how ",
)
_STUDENT_TASKS = (
    "explain ", "help me understand ", "summarize the reading on ", "give me practice questions on ",
    "check my answer about ", "what are the key points of ", "how do I cite a source on ", "outline an essay on ",
)
_STUDENT_TOPICS = (
    "the krebs cycle", "supply and demand", "the cold war", "eigenvalues", "mitosis vs meiosis", "ohm's law",
    "kantian ethics", "the central limit theorem", "organic chemistry nomenclature", "keynesian economics",
    "big-o notation", "the treaty of westphalia", "bayes theorem", "newton's third law", "romantic poetry",
    "recursion in java", "plate tectonics", "game theory", "opportunity cost", "hash tables",
)
_NOUNS_AND_TOPICS = _NOUNS + _STUDENT_TOPICS
_WORK_TASKS = (
    "summarize this meeting note about ", "draft a reply to the customer about ", "write a status update on ",
    "turn these bullet points into an email about ", "review this policy paragraph on ", "prepare talking points for ",
    "translate into German: the update on ", "create a checklist for ",
)
_WORK_TOPICS = (
    "the Q2 freight forecast", "delayed shipments to Rotterdam", "the warehouse safety audit", "supplier onboarding",
    "the new invoicing process", "customs paperwork", "the fleet maintenance schedule", "route optimisation",
    "the quarterly KPI review", "vendor contract renewals", "the ERP migration", "holiday staffing",
)
_CANNED = (
    "Summarize today's open support tickets.",
    "Draft the daily standup summary from my notes.",
    "What changed in the travel expense policy?",
    "Translate the weekly customer newsletter into German.",
)

# Campaign templates: boilerplate segments with paraphrase variants (variant 0 is the exact template).
_MATH_STEMS = (
    ("A train travels ", " km in ", " hours. What is its average speed?"),
    ("A store sells pens at ", " cents each. How much do ", " pens cost?"),
    ("Find the sum of all integers from 1 to ", " that are divisible by ", "."),
    ("A rectangle has perimeter ", " and one side of length ", ". What is its area?"),
    ("If 3x + ", " = ", ", what is x?"),
    ("A tank fills in ", " minutes and drains in ", " minutes. How long to fill it with both open?"),
    ("How many ways can ", " people sit around a table with ", " seats?"),
    ("Compute the remainder when 7^", " is divided by ", "."),
    ("A population grows by ", "% per year from ", ". What is it after 5 years?"),
    ("The mean of five numbers is ", ". Four of them sum to ", ". What is the fifth?"),
    ("A bag has ", " red and ", " blue marbles. What is the chance of drawing two red ones?"),
    ("Solve for n: n^2 - ", "n + ", " = 0."),
    ("A cyclist rides ", " km uphill at 12 km/h and ", " km downhill at 30 km/h. Average speed?"),
    ("What is the greatest common divisor of ", " and ", "?"),
    ("A loan of ", " dollars accrues ", "% simple interest yearly. Interest after 4 years?"),
)
_MATH_STEM0, _MATH_STEM1, _MATH_STEM2 = (tuple(t[k] for t in _MATH_STEMS) for k in range(3))
_MATH_INTRO = (
    "Solve the following problem.", "Work through the problem below.", "Please solve this.", "Here is a problem for you.",
    "Find the answer to the following question.", "Can you solve this problem?", "Tackle this exercise.",
    "Consider the problem below and solve it.",
)
_ELICIT = (
    "Show your reasoning step by step.", "Think step by step and show every intermediate step.",
    "Explain your reasoning in detail before giving the final answer.", "Let's think step by step.",
    "Walk through your full reasoning, then state the answer.", "Show all your work and your thought process.",
    "Reason step by step, and put the final answer on its own line.", "Give a detailed reasoning chain first.",
)
_NO_ELICIT = ("Give the final answer.", "Answer concisely.", "Respond with the answer only.", "Be brief.")
_SUBJECTS = (
    "physics", "chemistry", "biology", "economics", "history", "philosophy", "statistics", "computer science",
    "linguistics", "geography", "psychology", "law", "medicine", "astronomy", "music theory", "accounting",
)
_CONCEPTS = (
    "how entropy relates to", "why inflation affects", "the main causes of", "how feedback loops shape",
    "the trade-offs involved in", "what determines", "the historical origins of", "common misconceptions about",
    "how experts measure", "the ethical questions raised by", "how one would model", "the key evidence for",
    "the limitations of", "how to estimate", "the long-term effects of", "competing theories of",
)
_CONCEPT_OBJECTS = (
    "heat engines", "interest rates", "the industrial revolution", "protein folding", "urban migration",
    "sampling bias", "neural networks", "plate boundaries", "memory formation", "contract disputes", "vaccine trials",
    "exoplanet detection", "harmonic progressions", "depreciation schedules", "language change", "river deltas",
    "market bubbles", "antibiotic resistance", "voting systems", "cache hierarchies",
)
_TUTOR_PRE = ("You are an expert ", "Acting as a ", "As an experienced ", "Imagine you are a senior ", "Pretend to be a ")
_TUTOR_POST = (" tutor.", " professor.", " specialist.", " researcher.", " teacher.")
_EXPLAIN = ("Explain ", "Describe ", "Walk me through ", "Give a thorough account of ", "Break down ", "Analyse ")
_CODE_ELICIT = (
    "Explain your reasoning step by step, then give the final code.", "First reason about the approach step by step.",
    "Think through edge cases step by step before coding.", "Show your thought process, then the code.",
    "Walk through the algorithm, then implement it.", "Describe your full reasoning and complexity first.",
)
_ROLES = (
    "a nurse", "a pilot", "a detective", "a chef", "a lawyer", "an engineer", "a farmer", "a teacher", "a journalist",
    "an astronaut", "a startup founder", "a librarian", "a mechanic", "a diplomat",
)
_DIALOGUE_PRE = (
    "Generate a dialogue between ", "Write a conversation between ", "Create a realistic exchange between ",
    "Compose a multi-turn chat between ", "Produce a role-play script featuring ",
)
_DIALOGUE_TOPICS = (
    " about a difficult decision", " who disagree about a plan", " solving a puzzle together", " negotiating a deal",
    " debugging a failure", " planning a trip", " resolving a complaint", " discussing an ethical dilemma",
)
_DIALOGUE_ELICIT = (
    "Before writing, think step by step about each speaker's goals.", "Include each speaker's detailed reasoning.",
    "Show the chain of thought behind every reply.", "Reason step by step about how the conversation should unfold.",
    "Have each speaker explain their thinking.",
)
_ELICIT_BY_FAMILY = {"math": _ELICIT, "tutor": _ELICIT, "code": _CODE_ELICIT, "dialogue": _DIALOGUE_ELICIT}
BENCHES = ("mathqa-dev", "sciq-hard", "logic-grid", "gsm-style", "codereason")
ORG_BENCHES = ("bc-reasoning/gsm-hard", "bc-reasoning/logiqa-v2", "bc-reasoning/arc-challenge", "bc-reasoning/proofwriter")
_BENCH_NAMES = BENCHES + ORG_BENCHES

# Varied-fill templates: every slot is filled from a digit of a keyed permutation of the item number, so that
# two different items never get the same text (each item is sent once).
_BULK_KINDS = (
    ("Write an explainer on ", " that focuses on ", ", for ", ". Use ", " as the running example and keep it to about ",
     " words."),
    ("Draft a lesson on ", ", covering ", ". The audience is ", "; ground it in the case of ", ". Target length: ",
     " words."),
    ("Produce a Q&A about ", " with emphasis on ", ", written for ", " and illustrated with ", ". Use about ",
     " words."),
    ("Create a briefing on ", " about ", " for ", ", citing ", " as an example, in roughly ", " words."),
    ("Summarise what is known about ", ", especially ", ", for ", ", taking ", " as a case study, in ", " words."),
)
_BULK_OPENERS = ("", "Task: ", "Assignment: ", "Please help. ", "New request. ", "Content brief. ", "Hi! ")
_BULK_TOPICS = (
    "the history of the printing press", "how vaccines train the immune system", "the economics of ride-sharing",
    "coral reef bleaching", "the causes of the 2008 financial crisis", "how GPS satellites keep time",
    "the rise of container shipping", "urban heat islands", "the chemistry of baking bread", "how credit scores work",
    "the migration of monarch butterflies", "the invention of the transistor", "how central banks set interest rates",
    "the fall of the Roman Republic", "how noise-cancelling headphones work", "the spread of the Black Death",
    "desalination plants", "the psychology of habit formation", "how search engines rank pages",
    "the water cycle in deserts", "the origins of jazz", "how elections are audited", "battery recycling",
    "the Silk Road trade network", "how earthquakes are measured", "the ethics of gene editing",
    "supply chain bottlenecks", "how airplanes stay in the air", "the history of public libraries",
    "microplastics in rivers", "how compilers optimise loops", "the Green Revolution in agriculture",
    "how insurance pricing works", "the discovery of penicillin", "remote work and city centres",
    "the physics of rainbows", "the Marshall Plan", "how recommendation systems work", "soil erosion on farmland",
    "the history of the metric system",
)
_BULK_ASPECTS = (
    "its long-term consequences", "the key turning points", "the main open questions", "common misconceptions",
    "the numbers that matter most", "who benefits and who loses", "the role of technology", "how experts disagree",
    "the first principles involved", "the policy options", "the historical context", "the costs and trade-offs",
    "the evidence base", "the everyday implications", "what could go wrong", "how it is measured",
    "its regional differences", "the ethical questions", "the underlying mechanism", "the most cited studies",
    "its future over the next decade", "the incentives at play", "lessons for practitioners",
    "how it compares internationally",
)
_AUDIENCES = (
    "a high-school student", "a busy executive", "a first-year undergraduate", "a retired engineer", "a policy maker",
    "a curious ten-year-old", "a newspaper reader", "a graduate student", "a small-business owner", "a nurse",
    "a software developer", "a journalist on deadline", "a museum visitor", "a non-native English speaker",
    "a city council member", "a science teacher",
)
_ENTITIES = (
    "a small bakery in Lyon", "the city of Osaka", "a mid-size hospital in Ohio", "a family farm in Kenya",
    "a fishing village in Norway", "a logistics startup in Berlin", "a school district in Texas",
    "a ferry operator in Greece", "a coffee cooperative in Colombia", "a steel mill in Pennsylvania",
    "a rural clinic in Peru", "a bike-sharing scheme in Copenhagen", "a textile factory in Bangladesh",
    "a public library in Toronto", "a vineyard in Mendoza", "a data centre in Dublin", "the port of Rotterdam",
    "a ski resort in Colorado", "a tea estate in Assam", "a university in Seoul", "a call centre in Manila",
    "a wind farm in Scotland", "a supermarket chain in Brazil", "a regional airline in Australia",
    "a water utility in Arizona", "a newsroom in Johannesburg", "a bookshop in Edinburgh", "a car plant in Bavaria",
    "a fintech app in Nairobi", "a hotel in Kyoto",
)
_BULK_RADICES = (len(_BULK_KINDS), len(_BULK_TOPICS), len(_BULK_ASPECTS), len(_AUDIENCES), len(_ENTITIES), 500)
# Hydra: paraphrased tutor requests with unique fill.
_HYDRA_RADICES = (len(_SUBJECTS), len(_CONCEPTS), len(_CONCEPT_OBJECTS), len(_AUDIENCES), len(_ENTITIES), 100)
_HYDRA_LINK = (" for ", " so that it makes sense to ", " in a way suited to ", " pitched at ", " tailored to ")
_HYDRA_EXAMPLE = (", using ", ", with the example of ", ", drawing on ", ", illustrated by ", ", grounded in ")
_HYDRA_NUM = (("(exercise ", ")"), ("[item ", "]"), ("(question ", ")"), ("- case ", ""), ("(#", ")"))
# Low-and-slow: varied-fill coding requests.
_LS_LANGS = ("Python", "TypeScript", "Go", "Rust", "Java", "Kotlin")
_LS_PRE = ("Write a ", "Implement a ", "Could you write a ", "I need a ", "Help me build a ", "Please create a ")
_LS_FN = (" function that ", " routine that ", " helper that ", " module that ", " utility that ", " function which ")
_LS_TASKS = (
    "parses a CSV file", "deduplicates records", "merges two sorted streams", "validates email addresses",
    "computes a moving average", "detects outliers", "paginates API results", "retries failed HTTP calls with backoff",
    "builds an inverted index", "normalises phone numbers", "diffs two JSON documents", "schedules recurring jobs",
    "converts time zones", "compresses log lines", "tokenises search queries", "ranks documents with BM25",
    "caches expensive lookups", "throttles concurrent requests", "serialises a tree to JSON",
    "finds the shortest path in a grid", "groups transactions by week", "reconciles two ledgers",
    "generates invoice numbers", "masks personal data", "splits a file into chunks", "merges overlapping time ranges",
    "computes percentiles in one pass", "detects cycles in dependencies", "renders a markdown table",
    "validates a config schema", "estimates distinct counts", "streams a large XML file", "hashes passwords safely",
    "computes shipping costs", "matches fuzzy company names", "aggregates metrics by tag", "resamples a time series",
    "parses cron expressions", "checks balanced brackets", "computes file checksums",
)
_LS_DOMAINS = (
    "for a logistics company", "for an online bookshop", "for a hospital rota", "for a school timetable",
    "for a payroll system", "for a weather station network", "for a parking app", "for a music streaming service",
    "for a warehouse scanner", "for a dental clinic", "for a crowdfunding site", "for a fleet of delivery vans",
    "for a library catalogue", "for an energy meter feed", "for a hotel booking engine", "for a retail loyalty scheme",
    "for a clinical trial registry", "for a ticketing platform", "for a bike rental shop", "for a food delivery app",
    "for a tax filing tool", "for a smart thermostat", "for a sports league", "for a recruiting pipeline",
)
_LS_CONSTRAINTS = (
    "without external libraries", "in O(n log n) time", "using constant extra memory", "with full type annotations",
    "with unit tests", "handling malformed input gracefully", "that is thread-safe", "streaming the input",
    "with clear docstrings", "that never crashes on bad rows", "using only the standard library",
    "logging every rejected row", "in a functional style", "with early exit on errors", "with configurable limits",
    "optimised for readability",
)
_LS_TESTS = (
    "a file with mixed line endings", "an empty input", "duplicated keys", "unicode names", "negative amounts",
    "very long lines", "missing fields", "out-of-order timestamps", "leap-year dates", "trailing whitespace",
    "nested quotes", "huge integers", "a single record", "all-identical values", "random noise",
    "daylight-saving transitions", "mixed currencies", "null bytes", "deeply nested input", "reversed input",
    "sparse data", "a slow network", "concurrent writers", "a truncated file", "non-ASCII separators",
    "zero-length fields", "sorted input", "duplicate headers", "scientific notation", "tabs instead of commas",
)
_MATH_RADICES = (len(_MATH_STEMS), 500, 90, 1_000)  # fan-out: exact templates, numbers in the slots
_TONES = ("tense", "friendly", "formal", "humorous", "urgent", "patient", "sceptical", "hopeful")
_DIALOGUE_RADICES = (len(_ROLES), len(_ROLES) - 1, len(_DIALOGUE_TOPICS), len(_ENTITIES), len(_TONES), 1_000)
_LS_RADICES = (len(_LS_LANGS), len(_LS_TASKS), len(_LS_DOMAINS), len(_LS_CONSTRAINTS), len(_LS_TESTS), 500)
# Agentic: tasks (unique fill) carried through Thought / Action / Observation steps.
_AGENT_KINDS = (
    ("Look up the ", " of ", " and of ", ", compare them, and project both forward by ", " days with the python tool."),
    ("Collect the latest ", " figures for ", " and ", " from the web, then compute the difference per ", " residents."),
    ("Build a table of the ", " in ", " versus ", " and check every number with the calculator (at most ",
     " tool calls)."),
    ("Research how the ", " changed in ", " compared with ", " over the last ", " weeks and summarise the trend."),
    ("Using web_search and python, estimate the ", " of ", " relative to ", " for a sample of ", " households."),
    ("Verify the claim that the ", " of ", " exceeds that of ", " by at least ", " units, citing sources."),
)
_AGENT_METRICS = (
    "population", "median rent", "average commute time", "unemployment rate", "number of hospitals", "annual rainfall",
    "GDP per capita", "electricity price", "number of public libraries", "air quality index", "average nurse salary",
    "number of registered cars", "crime rate", "tourist arrivals", "broadband speed", "number of startups",
    "average house price", "hotel occupancy", "public transport ridership", "price of a coffee",
    "number of universities", "median age", "installed solar capacity", "port throughput",
)
_AGENT_CITIES = (
    "Lisbon", "Denver", "Osaka", "Nairobi", "Krakow", "Austin", "Porto", "Leeds", "Busan", "Lyon", "Calgary",
    "Valencia", "Cebu", "Accra", "Tampere", "Perth", "Bilbao", "Malmo", "Kyoto", "Quito", "Gdansk", "Dresden",
    "Medellin", "Izmir", "Adelaide", "Ottawa", "Seville", "Utrecht", "Chiang Mai", "Cordoba",
)
_AGENT_RADICES = (len(_AGENT_KINDS), len(_AGENT_METRICS), len(_AGENT_CITIES), len(_AGENT_CITIES), 2_000)
_AGENT_THOUGHTS = (
    "I need the current ", "First I should find the ", "Next I will check the ", "Let me verify the ",
    "I still need the ", "Now I can compare the ", "I should double-check the ", "The next step is to get the ",
)
_AGENT_OBS = (
    ("Top result: official statistics report ", " for the latest year."),
    ("stdout: value = ", " (n=1 row)"),
    ("Result: ", ""),
    ("Found 10 results; the most recent source says ", "."),
)
_AGENT_STEP_ELICIT = ("Think step by step.", "Reason step by step before choosing an action.",
                      "Explain your reasoning in detail in each Thought.", "Show your full chain of thought.")
# Classroom: the instructor's exercise of each lab session.
COURSES = ("CS 201", "PHYS 150", "STAT 230", "ECON 101", "CHEM 121", "MATH 240")
_EXERCISES = (
    ("Trace binary search for the value ", " in the sorted list of the integers from 1 to ",
     ". How many comparisons are made?"),
    ("A ball is thrown straight up at ", " m/s from a platform ", " m high. When does it hit the ground?"),
    ("Compute the expected value of the sum of ", " fair dice, and the variance of the sum of ", " dice."),
    ("A firm faces demand Q = ", " - 2P and a marginal cost of ", ". Find the profit-maximising price."),
    ("How many moles are in ", " g of water, and how many molecules are in ", " g?"),
    ("Find the eigenvalues of the matrix [[", ", 1], [1, ", "]]."),
    ("Convert ", " to binary and to hexadecimal, then add ", " in binary."),
    ("Prove by induction that 1 + 2 + ... + n = n(n+1)/2, then evaluate it for n = ", " and n = ", "."),
    ("A loan of ", "00 dollars accrues ", "% interest compounded monthly. What is the balance after two years?"),
    ("Estimate the standard error of a sample mean with n = ", " and s = ", "."),
)
_EXERCISE_EDITS = ("pls help: ", "hi, ", "Can you explain this? ", "this is for my lab: ")
_STUDENT_DOUBTS = (" I got a different answer, is that right?", " i'm stuck on the second part", " thanks!!",
                   " (we have to show the steps)")

for _radices in (_MATH_RADICES, _DIALOGUE_RADICES, _BULK_RADICES, _HYDRA_RADICES, _LS_RADICES, _AGENT_RADICES):
    assert math.prod(_radices) > (DAYS << 22), _radices  # room for every item of the window


def benign_prompt_codes(rng: np.random.Generator, style: np.ndarray) -> np.ndarray:
    """Kind and slot choices of human prompts (text is built later, per chunk): an (n, 6) int array."""
    n = len(style)
    u = rng.random(n)
    cut_common = np.where(style == 2, 0.03, 0.07)
    cut_reason = cut_common + np.where(style == 1, 0.18, np.where(style == 2, 0.02, 0.04))
    cut_code = cut_reason + np.where(style == 1, 0.05, 0.07)
    cut_canned = cut_code + np.where(style == 2, 0.15, 0.0)
    kind = np.select([u < cut_common, u < cut_reason, u < cut_code, u < cut_canned], [0, 1, 2, 3], 4)
    kind = np.where((kind == 4) & (style == 1), 5, np.where((kind == 4) & (style == 2), 6, kind))
    codes = np.empty((n, 6), dtype=np.int64)
    codes[:, 0] = kind
    codes[:, 1] = sample_pmf(rng, _COMMON_W, n)
    codes[:, 2:] = rng.integers(0, 1 << 30, (n, 4))
    return codes


def benign_prompt_text(codes: np.ndarray) -> pl.Series:
    kind = codes[:, 0]
    pieces = []
    for k in range(7):
        pos = np.flatnonzero(kind == k)
        if not len(pos):
            continue
        c1, c2, c3, c4, c5 = (codes[pos, j] for j in range(1, 6))
        if k == 0:
            text = pick_text(COMMON_PROMPTS, c1)
        elif k == 1:
            text = concat_text([pick_text(_REASONING_BENIGN, c2), pick_text(_ADJECTIVES, c3), " ", pick_text(_NOUNS_AND_TOPICS, c4),
                            " works"])
        elif k == 2:
            text = concat_text([pick_text(_OPENERS, c2), pick_text(_CODE_TASKS, c3), num(c4 % 500), pick_text(_CODE_CLOSERS, c3)])
        elif k == 3:
            text = pick_text(_CANNED, c2)
        elif k == 4:
            text = concat_text([pick_text(_OPENERS, c2), pick_text(_TASKS, c3), pick_text(_ADJECTIVES, c4), " ", pick_text(_NOUNS, c5),
                            pick_text(_TAILS, c2 >> 8)])
        elif k == 5:
            text = concat_text([pick_text(_OPENERS, c2), pick_text(_STUDENT_TASKS, c3), pick_text(_STUDENT_TOPICS, c4),
                            pick_text(_TAILS, c5)])
        else:
            text = concat_text([pick_text(_WORK_TASKS, c2), pick_text(_WORK_TOPICS, c3), pick_text(_TAILS, c4)])
        pieces.append((pos, text))
    return assemble(len(kind), pieces)


def _variant(h: np.ndarray, para: np.ndarray, k: int, shift: int) -> np.ndarray:
    """Paraphrase choice for a template segment: variant 0 unless the item is paraphrased."""
    return np.where(para, ((h >> np.uint64(shift)) % np.uint64(k)).astype(np.int64), 0)


_PERM_A = np.uint64(2_654_435_761)  # a prime larger than any radix, so coprime with every product of radices


def _unique_digits(items: np.ndarray, salt: int, radices: tuple[int, ...]) -> list[np.ndarray]:
    """Mixed-radix digits of a keyed permutation of the item number: distinct items, distinct digit tuples.

    Items are `day << 22 | counter`, below DAYS << 22, which every radix product exceeds."""
    total = np.uint64(math.prod(radices))
    offset = splitmix(np.array([salt], dtype=np.uint64), 0x51)[0] % total
    with np.errstate(over="ignore"):
        x = (items.astype(np.uint64) * _PERM_A + offset) % total
    digits = []
    for r in radices:
        digits.append((x % np.uint64(r)).astype(np.int64))
        x = x // np.uint64(r)
    return digits


def item_elicits(reasoning: float, items: np.ndarray, salt: int) -> np.ndarray:
    g = splitmix(items.astype(np.uint64), salt + 1)
    return ((g >> np.uint64(20)) % np.uint64(10_000)).astype(np.int64) < int(reasoning * 10_000)


def _select(mask: np.ndarray, yes: pl.Series, no: pl.Series) -> pl.Series:
    return pl.select(pl.when(pl.lit(pl.Series(mask))).then(pl.lit(yes)).otherwise(pl.lit(no))).to_series()


def campaign_prompts(c: Campaign, codes: np.ndarray, salt: int) -> pl.Series:
    """Templates; wording (paraphrase) and elicitation depend on the item, not the request, so that the
    copies of a fanned-out item are identical."""
    items = codes[:, 0]
    if c.template == "agent":
        return _agent_prompts(codes, salt)
    h = splitmix(items.astype(np.uint64), salt)
    g = splitmix(items.astype(np.uint64), salt + 1)
    para = (g % np.uint64(10_000)).astype(np.int64) < int(c.paraphrase * 10_000)
    elicit = item_elicits(c.reasoning, items, salt)
    family = {"math": "math", "bulk": "tutor", "hydra": "tutor", "lowslow": "code", "dialogue": "dialogue"}[c.template]
    elicit_phrases = _ELICIT_BY_FAMILY[family]
    swap = para & (((g >> np.uint64(40)) % np.uint64(3)) == 0)
    closing = _select(elicit, pick_text(elicit_phrases, _variant(h, para, len(elicit_phrases), 44)),
                      pick_text(_NO_ELICIT, h >> np.uint64(32)))
    if c.template == "math":
        stem, a, b, number = _unique_digits(items, salt, _MATH_RADICES)
        intro = pick_text(_MATH_INTRO, _variant(h, para, len(_MATH_INTRO), 50))
        payload = concat_text(["Problem ", num(number), ": ", pick_text(_MATH_STEM0, stem), num(a + 2),
                           pick_text(_MATH_STEM1, stem), num(b + 2), pick_text(_MATH_STEM2, stem)])
        head = concat_text([intro, " ", closing])
    elif c.template == "dialogue":
        role, other, topic, entity, tone, number = _unique_digits(items, salt, _DIALOGUE_RADICES)
        head = closing
        payload = concat_text([pick_text(_DIALOGUE_PRE, _variant(h, para, len(_DIALOGUE_PRE), 50)), pick_text(_ROLES, role),
                           " and ", pick_text(_ROLES, role + 1 + other), pick_text(_DIALOGUE_TOPICS, topic), ", set at ",
                           pick_text(_ENTITIES, entity), ", in a ", pick_text(_TONES, tone), " tone (scenario ", num(number),
                           ")."])
    elif c.template == "bulk":
        kind, topic, aspect, audience, entity, words = _unique_digits(items, salt, _BULK_RADICES)
        parts = [pick_text(tuple(p[i] for p in _BULK_KINDS), kind) for i in range(6)]
        head = closing
        payload = concat_text([pick_text(_BULK_OPENERS, _variant(h, para, len(_BULK_OPENERS), 50)), parts[0],
                           pick_text(_BULK_TOPICS, topic), parts[1], pick_text(_BULK_ASPECTS, aspect), parts[2],
                           pick_text(_AUDIENCES, audience), parts[3], pick_text(_ENTITIES, entity), parts[4],
                           num(100 + words), parts[5]])
    elif c.template == "hydra":
        subject, concept, obj, audience, entity, number = _unique_digits(items, salt, _HYDRA_RADICES)
        v = _variant(h, para, len(_HYDRA_NUM), 56)
        head = concat_text([pick_text(_TUTOR_PRE, _variant(h, para, len(_TUTOR_PRE), 50)), pick_text(_SUBJECTS, subject),
                        pick_text(_TUTOR_POST, _variant(h, para, len(_TUTOR_POST), 53)), " ", closing])
        payload = concat_text([pick_text(_EXPLAIN, _variant(h, para, len(_EXPLAIN), 59)), pick_text(_CONCEPTS, concept), " ",
                           pick_text(_CONCEPT_OBJECTS, obj), pick_text(_HYDRA_LINK, _variant(h, para, len(_HYDRA_LINK), 8)),
                           pick_text(_AUDIENCES, audience),
                           pick_text(_HYDRA_EXAMPLE, _variant(h, para, len(_HYDRA_EXAMPLE), 14)),
                           pick_text(_ENTITIES, entity), " ", pick_text(tuple(o for o, _ in _HYDRA_NUM), v), num(1 + number),
                           pick_text(tuple(e for _, e in _HYDRA_NUM), v)])
    else:  # lowslow
        lang, task, domain, constraint, test, size = _unique_digits(items, salt, _LS_RADICES)
        head = closing
        payload = concat_text([pick_text(_LS_PRE, _variant(h, para, len(_LS_PRE), 50)), pick_text(_LS_LANGS, lang),
                           pick_text(_LS_FN, _variant(h, para, len(_LS_FN), 53)), pick_text(_LS_TASKS, task), " ",
                           pick_text(_LS_DOMAINS, domain), ", ", pick_text(_LS_CONSTRAINTS, constraint), ". Test it on ",
                           pick_text(_LS_TESTS, test), " with up to ", num(100 * (1 + size)), " records."])
    forward = concat_text([head, "\n\n", payload])
    backward = concat_text([payload, "\n\n", head])
    return _select(swap, backward, forward)


def _agent_prompts(codes: np.ndarray, salt: int) -> pl.Series:
    """Task, then the previous step's Thought / Action / Observation: each call carries the last observation."""
    items, step, elicit = codes[:, 0], codes[:, 1], codes[:, 2] == 1
    kind, metric, city1, city2, number = _unique_digits(items, salt, _AGENT_RADICES)
    parts = [pick_text(tuple(p[i] for p in _AGENT_KINDS), kind) for i in range(5)]
    task = concat_text(["Task: ", parts[0], pick_text(_AGENT_METRICS, metric), parts[1], pick_text(_AGENT_CITIES, city1), parts[2],
                    pick_text(_AGENT_CITIES, city2), parts[3], num(2 + number), parts[4]])
    h = splitmix(items.astype(np.uint64), salt + 2)
    task = _select(elicit, concat_text([task, " ", pick_text(_AGENT_STEP_ELICIT, h >> np.uint64(8))]), task)
    prev = splitmix(items.astype(np.uint64) * np.uint64(16) + np.maximum(step - 1, 0).astype(np.uint64), salt + 3)
    tool = (prev % np.uint64(3)).astype(np.int64)
    city = pick_text(_AGENT_CITIES, np.where(step % 2 == 1, city1, city2))
    metric_s = pick_text(_AGENT_METRICS, metric)
    x = ((prev >> np.uint64(8)) % np.uint64(90_000)).astype(np.int64) + 100
    y = ((prev >> np.uint64(30)) % np.uint64(100)).astype(np.int64)
    search = concat_text(['web_search("', metric_s, " ", city, ' latest")'])
    python = concat_text(["python(\"import pandas as pd; df = pd.read_csv('", city, ".csv'); print(df['", metric_s,
                      "'].mean())\")"])
    calc = concat_text(['calculator("', num(x), " / ", num(y + 1), '")'])
    action = pl.select(
        pl.when(pl.lit(pl.Series(tool == 0))).then(pl.lit(search))
        .when(pl.lit(pl.Series(tool == 1))).then(pl.lit(python))
        .otherwise(pl.lit(calc))
    ).to_series()
    obs_kind = np.where(tool == 0, np.where((prev >> np.uint64(50)) % np.uint64(2) == 0, 0, 3), tool)
    observation = concat_text([pick_text(tuple(o for o, _ in _AGENT_OBS), obs_kind), num(x), ".", num(y),
                           pick_text(tuple(e for _, e in _AGENT_OBS), obs_kind)])
    later = concat_text([task, "\n\nThought: ", pick_text(_AGENT_THOUGHTS, prev >> np.uint64(40)), metric_s, " of ", city,
                     ".\nAction: ", action, "\nObservation: ", observation,
                     "\n\nContinue with the next Thought and Action, or give the Final Answer."])
    first = concat_text([task, "\n\nBegin with your first Thought."])
    return _select(step == 0, first, later)


def bench_prompts(bench: np.ndarray, question: np.ndarray) -> pl.Series:
    k = question % len(_MATH_STEMS)
    a = (question * 37) % 400 + 3
    b = (question * 11) % 80 + 2
    return concat_text([
        "[", pick_text(_BENCH_NAMES, bench), "] Question ", num(question), ": ", pick_text(_MATH_STEM0, k), num(a),
        pick_text(_MATH_STEM1, k), num(b), pick_text(_MATH_STEM2, k),
        "\nChoices: (A) ", num(a + b), " (B) ", num(a * 2), " (C) ", num(b + 7), " (D) ", num(a - b),
        "\nThink step by step, then answer with a single letter.",
    ])


def exercise_prompts(course: np.ndarray, codes: np.ndarray, salt: int) -> pl.Series:
    """The instructor's exercise of a lab session; some students add a small personal edit."""
    cls, session, edit, r = (codes[:, j] for j in range(4))
    h = splitmix((cls * 1_000 + session).astype(np.uint64), salt)
    stem = (h % np.uint64(len(_EXERCISES))).astype(np.int64)
    a = ((h >> np.uint64(8)) % np.uint64(90)).astype(np.int64) + 3
    b = ((h >> np.uint64(20)) % np.uint64(40)).astype(np.int64) + 2
    text = concat_text([
        pick_text(COURSES, course[cls]), " - week ", num(session // 2 + 1), " lab ", num(session % 2 + 1),
        ", exercise ", num(1 + (h >> np.uint64(30)) % 3), ": ",
        pick_text(tuple(e[0] for e in _EXERCISES), stem), num(a), pick_text(tuple(e[1] for e in _EXERCISES), stem),
        num(b), pick_text(tuple(e[2] for e in _EXERCISES), stem), " Show your reasoning step by step.",
    ])
    prefix = concat_text([pick_text(_EXERCISE_EDITS, r), text])
    suffix = concat_text([text, pick_text(_STUDENT_DOUBTS, r >> 3)])
    out = _select(edit == 1, prefix, text)
    out = _select(edit == 2, suffix, out)
    out = _select(edit == 3, text.str.to_lowercase(), out)
    return _select(edit == 4, concat_text([pick_text(_EXERCISE_EDITS, r), suffix]), out)
