#!/usr/bin/env python
"""Independent generator of synthetic LLM-API incident logs (held-out benchmark).

    python bench/independent/generate.py --incident A|B|C --out DIR [--rows N] [--seed S]

Writes DIR/logs/<UTC day>.parquet (one file per day), DIR/accounts.parquet and
DIR/labels.parquet.  Same arguments -> byte-identical files.  See README.md next to
this file for the populations and the tradecraft of each incident.

Everything (networks, user agents, vocabularies, populations) is invented here; it
does not import or read anything from the project under test.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import string
import sys
import time
import zlib
from datetime import datetime, timezone

import numpy as np
import polars as pl

# ----------------------------------------------------------------------------------
# time frame
# ----------------------------------------------------------------------------------
T0_DT = datetime(2026, 4, 22, tzinfo=timezone.utc)
T0 = int(T0_DT.timestamp()) * 1_000_000
NDAYS = 45
DAY = 86_400_000_000
HOUR = 3_600_000_000
MIN = 60_000_000
T_END = T0 + NDAYS * DAY
WD0 = T0_DT.weekday()          # 2 = Wednesday
RELEASE_DAY = 21               # nova-4 general availability, 2026-05-13
MODELS = ["nova-3-mini", "nova-3", "nova-3-pro", "nova-4"]
CAP = 1 << 14                  # max rows per (population, day, intent) for unique fill

NT_HOME, NT_MOB, NT_OFFICE, NT_VPN, NT_POOL, NT_PROXY = range(6)

# prompt kinds -> output token distribution
(K_SHORT, K_QA, K_ADVICE, K_WRITE, K_CODE, K_REASON, K_SUMMARY, K_TRANSLATE,
 K_EXTRACT, K_AGENT, K_AGENT_FINAL, K_MCQ, K_FOLLOW, K_CHAT) = range(14)
KIND_MED = np.array([28, 230, 400, 430, 540, 950, 170, 0, 60, 150, 520, 680, 270, 110], float)
KIND_SIG = np.array([.6, .55, .5, .5, .6, .45, .45, .15, .5, .5, .45, .45, .6, .7])
MODEL_MULT = np.array([[.85, 1.0, 1.15, 1.25],     # non-reasoning kinds
                       [.80, 1.0, 1.30, 1.45]])    # reasoning kinds
REASONING_KINDS = np.zeros(14, bool)
REASONING_KINDS[[K_REASON, K_MCQ, K_AGENT_FINAL]] = True

M64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def crc(s: str) -> int:
    return zlib.crc32(s.encode())


def mix64(x):
    """splitmix64 finaliser: a bijection on uint64."""
    x = np.asarray(x, dtype=np.uint64)
    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    return x


def L(s: str) -> list[str]:
    return [x.strip() for x in s.split("|") if x.strip()]


def objarr(lst) -> np.ndarray:
    a = np.empty(len(lst), dtype=object)
    a[:] = list(lst)
    return a


def norm(w):
    w = np.asarray(w, float)
    return w / w.sum()


def pick(rng, n, weights):
    return rng.choice(len(weights), size=n, p=norm(weights))


# ----------------------------------------------------------------------------------
# vocabulary (all invented for this generator)
# ----------------------------------------------------------------------------------
NAMES = L("""Aisha|Ben|Carlos|Dana|Elif|Farid|Grace|Hiro|Ines|Jamal|Kofi|Lena|Mateo|Nadia|Omar|
Priya|Quinn|Rosa|Sven|Tariq|Uma|Victor|Wen|Ximena|Yusuf|Zoe|Amara|Bruno|Chloe|Dmitri|Esther|
Felix|Gita|Hugo|Ivy|Jonas|Keiko|Liam|Maya|Nikhil|Olga|Pablo|Rania|Sofia|Tomas|Usha|Vera|Wei|
Yara|Zane|Adele|Bilal|Camille|Diego|Emeka|Freya|Goran|Hana|Idris|Julia|Kenji|Leila|Marco|Nora|
Oscar|Paula|Rahul|Sara|Theo|Ulla|Valentina|Will|Xavier|Yuki|Zara|Ahmed|Beatriz|Chen|Daria|Eli|
Fatima|Gabriel|Helga|Ishaan|Jin|Kamala|Luca|Mira|Nils|Olu|Pia|Raj|Selin|Tobias|Ursula|Vikram|
Wanjiru|Yosef|Zainab|Anton|Brigid|Cyrus""")
LASTNAMES = L("""Okafor|Schmidt|Tanaka|Silva|Novak|Haddad|Fernandes|Kowalski|Nguyen|Moreau|Jensen|
Rossi|Mensah|Petrov|Ibrahim|Larsen|Costa|Yilmaz|Kim|Sato|Garcia|Murphy|Patel|Cohen|Andersson|
Dubois|Ortiz|Hughes|Varga|Reyes|Chowdhury|Mwangi|Lindqvist|Alvarez|Bianchi|Horvat|Nakamura|
Osei|Popescu|Walsh""")
ITEMS = L("""notebooks|bicycles|scented candles|ceramic mugs|phone cases|sourdough loaves|potted ferns|
wool scarves|concert tickets|solar lanterns|yoga mats|bags of coffee beans|board games|paperback novels|
LED bulbs|steel water bottles|canvas backpacks|pairs of running shoes|wireless earbuds|jars of honey|
flower bouquets|cupcakes|USB-C cables|tote bags|picture frames|succulents|chess sets|umbrellas|
lunch boxes|desk lamps|bars of soap|kites|puzzle boxes|spice jars|leather wallets|sketchbooks|
bird feeders|phone chargers|beanies|croissants|bottles of olive oil|packs of trading cards|
handmade earrings|mechanical pencils|tea sampler boxes|camping stoves|bike helmets|vinyl records|
terracotta pots|reusable straws""")
BUSINESSES = L("""bakery|bike repair shop|second-hand bookstore|food truck|flower stall|coffee cart|
print shop|pottery studio|tutoring service|car wash|thrift store|juice bar|climbing gym|
dog-walking business|ice-cream parlour|hardware store|farm stand|tea house|phone repair kiosk|
bridal boutique|music school|tailor shop|campsite|craft brewery|vegan deli|laundromat|noodle bar|
comic shop|stationery store|yoga studio|barber shop|plant nursery|pizzeria|gift shop|taco stand""")
CITIES = L("""Lisbon|Nairobi|Osaka|Toronto|Lagos|Melbourne|Bogotá|Kraków|Austin|Hanoi|Cape Town|
Seville|Denver|Bangalore|Manila|Montreal|Porto|Accra|Busan|Edinburgh|Chicago|Cebu|Lima|Valencia|
Munich|Istanbul|Jakarta|Santiago|Dublin|Auckland|Atlanta|Pune|Marseille|Rotterdam|Gothenburg|
Monterrey|Córdoba|Casablanca|Dubai|Tel Aviv|Kyoto|Taipei|Penang|Ho Chi Minh City|Chiang Mai|
Surabaya|Cairo|Addis Ababa|Kigali|Dakar|Tunis|Athens|Naples|Turin|Lyon|Bordeaux|Hamburg|Leipzig|
Vienna|Zurich|Geneva|Prague|Budapest|Warsaw|Vilnius|Riga|Tallinn|Helsinki|Oslo|Copenhagen|
Stockholm|Reykjavik|Glasgow|Manchester|Bristol|Cardiff|Belfast|Seattle|Portland|San Diego|
Phoenix|Dallas|Houston|Miami|Boston|Philadelphia|Pittsburgh|Detroit|Minneapolis|Nashville|
New Orleans|Salt Lake City|Vancouver|Calgary|Halifax|Quito|La Paz|Montevideo|Asunción|Recife|
Curitiba|Salvador|Medellín|Cartagena|Guadalajara|Puebla|Havana|San José|Panama City|Kingston|
Perth|Adelaide|Brisbane|Hobart|Wellington|Christchurch|Suva|Kathmandu|Colombo|Dhaka|Karachi|
Lahore|Almaty|Tbilisi|Yerevan|Baku|Muscat|Doha|Amman|Beirut""")
WEEKDAYS = L("Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday")
PHENOMENA = L("""ice floats on liquid water|the sky looks blue during the day|metal feels colder than wood
at the same temperature|bread dough rises when yeast is added|a spinning top stays upright|hot-air
balloons rise|the Moon always shows the same face to Earth|salt lowers the freezing point of water|
leaves change colour in autumn|a coffee spill dries into a ring|compound interest outgrows simple
interest|inflation erodes the value of cash savings|vaccines produce lasting immunity|antibiotics do
not work against viruses|a prism splits white light into colours|there are two high tides a day|soap
removes grease|a stretched rubber band warms up|a bicycle is easier to balance when moving|
pressure cookers cook food faster|onions make people cry|the ocean is salty but rivers are not|
a straw looks bent in a glass of water|sound travels faster in water than in air|a fridge makes
the kitchen warmer|airplanes leave contrails|popcorn pops|a ship made of steel floats|stars twinkle
but planets mostly do not|deserts get cold at night|the price of flights rises close to departure|
rents rise when a city adds jobs faster than housing|a bank run can sink a solvent bank|
coral reefs bleach in warm water|muscles get sore a day after exercise|caffeine keeps people
awake|the shower curtain moves inward|wet sand is firmer than dry sand|glaciers move downhill|
a boiled egg is hard to peel when very fresh|static shocks are worse in winter|
mirrors reverse left and right but not up and down|honey never really spoils|
cats usually land on their feet|a curveball curves|snowflakes are six-sided|thunder follows
lightning|adding more lanes rarely fixes traffic jams|minimum wage changes affect employment
unevenly|fuel economy drops at high speed|batteries drain faster in the cold|
blue whales can grow so large|plants grow towards light|the Sahara was once green|
a magnet loses strength when heated|old photographs turn yellow|city centres are warmer than
suburbs|bubbles are round|a kettle gets noisy just before it boils|crowded markets lower prices
for buyers|tyres lose pressure in winter|rainbows are curved|earthquakes cluster along plate
boundaries|yawning seems contagious|fermented food keeps longer|sunsets are red|
a tight jar lid opens after running it under hot water|bees build hexagonal cells""".replace("\n", " "))
AUDIENCES = L("""a ten-year-old|a first-year university student|a busy executive|a high-school physics
class|a non-native English speaker|a retired engineer|a curious teenager|a nursing student|a policy
maker|a journalist on deadline|a primary-school teacher|a small-business owner|a software developer
with no science background|a museum visitor|a chemistry olympiad contestant|an adult learner""".replace("\n", " "))
HIST_EVENTS = L("""the fall of the Western Roman Empire|the Black Death|the invention of the printing
press|the French Revolution|the Meiji Restoration|the Industrial Revolution in Britain|the
partition of India|the collapse of the Soviet Union|the Dutch tulip mania|the 1929 stock market
crash|the construction of the Panama Canal|the Apollo 11 mission|the Protestant Reformation|the
Haitian Revolution|the Congress of Vienna|the Marshall Plan|the Green Revolution|the 2008 financial
crisis|the fall of Constantinople|the Silk Road trade network|the Bretton Woods agreement|the
Scramble for Africa|the Cuban Missile Crisis|the spread of the steam engine|the abolition of the
Atlantic slave trade|the rise of the Mongol Empire|the Renaissance in Florence|the 1918 influenza
pandemic|the dot-com bubble|the Hanseatic League""".replace("\n", " "))
ASPECTS = L("""long-term economic impact|social consequences|technological causes|political
legitimacy|the role of geography|the impact on ordinary people|environmental effects|military
strategy|public-health outcomes|cultural legacy|the role of trade|how historians' views changed""".replace("\n", " "))
REGIONS = L("""Western Europe|West Africa|East Asia|South Asia|the Andes|the Caribbean|Central Europe|the
Middle East|North Africa|Scandinavia|the Balkans|Southeast Asia|the Pacific islands|Central Asia|
the American Midwest|Southern Africa|the Iberian Peninsula|the Baltic region|East Africa|the Levant|
the Mediterranean|the British Isles|Eastern Europe|the Indian Ocean rim|Latin America""".replace("\n", " "))
CODE_TASKS = L("""reverses a singly linked list|checks whether a string is a palindrome ignoring
punctuation|merges two sorted arrays|finds the longest common subsequence of two strings|keeps the
median of a stream of numbers|detects a cycle in a directed graph|implements an LRU cache|parses a
CSV line with quoted fields|returns the k most frequent words in a text|validates an IPv4 address|
rotates a square matrix by 90 degrees|groups a list of words into anagram classes|computes the edit
distance between two strings|searches a rotated sorted array|flattens an arbitrarily nested list|
counts islands in a 0/1 grid|orders tasks with dependencies|generates the power set of a set|
implements a trie with prefix search|finds shortest paths in a weighted graph|deduplicates records
by normalised email address|converts Roman numerals to integers|checks that brackets are balanced|
implements a token-bucket rate limiter|serialises and deserialises a binary tree|computes a sliding-
window average|finds the maximum subarray sum|generates all permutations of a string|merges
overlapping intervals|computes the GCD of a list of integers""".replace("\n", " "))
PROG_LANGS = L("Python|JavaScript|TypeScript|Java|C++|Go|Rust|C#|Kotlin|Swift|Ruby|PHP|Scala|Haskell|Julia|Elixir")
CONSTRAINTS = L("""in O(n log n) time|without recursion|using constant extra memory|with full type
annotations|handling empty input gracefully|with unit tests|in a functional style|without external
libraries|that is safe to call from several threads|with comments on every non-obvious line""".replace("\n", " "))
INPUT_SIZES = L("""up to 10 elements|up to a thousand elements|up to a million elements|up to 10^9
elements streamed from disk|that may contain duplicates|that may contain negative numbers|with
unicode characters|where most values are equal|that arrive in random order|that arrive nearly
sorted|that do not fit in memory|with many empty strings|with very long strings|that may be None|
with mixed upper and lower case|that come from user input|read from a socket|shared between
workers|where speed matters more than memory|where memory matters more than speed""".replace("\n", " "))
COUNTRY_NAMES = L("""Chile|Kenya|Norway|Vietnam|Poland|Mexico|Ghana|New Zealand|Portugal|Thailand|Peru|
Morocco|Sweden|Indonesia|Colombia|Hungary|Malaysia|Nigeria|Ireland|Turkey|Argentina|Egypt|
Czechia|Philippines|Canada|Bangladesh|Greece|South Africa|Australia|Japan|Brazil|India|Germany|
Spain|Italy|Pakistan|Romania|Uruguay|Tanzania|Finland""".replace("\n", " "))
RATE_STEPS = L("""a quarter of a percentage point|half a percentage point|0.75 percentage points|one
percentage point|1.5 percentage points|two percentage points|three percentage points|25 basis points
in two consecutive meetings|50 basis points unexpectedly|100 basis points over a year|a quarter point
while signalling more hikes|half a point while signalling a pause""".replace("\n", " "))
ECON_CONDITIONS = L("""unemployment is at a record low|the currency has just fallen sharply|oil prices are
spiking|household debt is very high|the government is running a large deficit|housing prices are
falling|wages are growing faster than productivity|exports are booming|a banking crisis is
unfolding abroad|inflation expectations are rising|most mortgages have floating rates|the economy
is in recession|food prices are surging after a drought|capital is flowing out of the country|a
general election is six months away""".replace("\n", " "))
ECON_VARS = L("""the exchange rate|mortgage payments|youth unemployment|house prices|import prices|
government borrowing costs|small-business lending|consumer spending|the stock market|savings rates|
foreign direct investment|the trade balance""".replace("\n", " "))
HORIZONS = L("in the next month|over the next quarter|over one year|over three years|in the long run|in the first week")
PROFESSIONS = L("""dentist|bakery owner|freelance photographer|dairy farmer|veterinarian|architect|
pharmacist|wedding planner|software consultant|physiotherapist|taxi driver|landscape gardener|
bookshop owner|plumber|graphic designer|restaurant owner|language teacher|electrician|florist|
personal trainer|optician|carpenter|accountant|beekeeper|tailor|music teacher|translator|
car mechanic|hairdresser|travel agent|winemaker|potter|locksmith|yoga instructor|bike courier|
tattoo artist|food-truck owner|nursery owner|photocopier technician|fishmonger""".replace("\n", " "))
DECISIONS = L("""lease or buy new equipment|hire a second employee|switch to a four-day work week|expand
into online sales|take out a small business loan|raise prices by 10%|move to a cheaper location|offer
a subscription plan|outsource bookkeeping|install solar panels|open on Sundays|drop their least
profitable product|buy their premises instead of renting|take on an apprentice|switch suppliers""".replace("\n", " "))
KK_CLAIMS = L("""we are both knights|at least one of us is a knave|exactly one of us is a knight|{c} is a
knave|{c} and I are the same type|if I am a knight then {c} is a knave|neither of us is a knight|{c}
would say that I am a knave""".replace("\n", " "))
COLOURS = L("red|blue|green|yellow|white|black|purple|orange|silver|striped|spotted|transparent")
CONTAINERS = L("bag|box|jar|drawer|urn|basket")
REPLACE = L("with replacement|without replacement")
OBJECTS = L("""wooden crate|steel block|sled|toy car|suitcase|ice cube|rubber puck|bag of sand|
skateboard|book|bookshelf|washing machine|piano|bicycle|cart of bricks|barrel|copper cylinder|
fridge|filing cabinet|kayak|snowboard|stone slab|roller cart|glass jar|tyre|cardboard box|metal
drum|wheelbarrow|log|trolley|sack of flour|toolbox|marble statue|car battery|desk|chair|treasure
chest|rowing machine|beer keg|hay bale""".replace("\n", " "))
FRICTION = L("0.05|0.1|0.12|0.15|0.2|0.25|0.3|0.35|0.4|0.5")
COMPARE_PAIRS = L("""nuclear power and onshore wind|rent control and housing vouchers|SQL and NoSQL
databases|monoliths and microservices|carbon taxes and cap-and-trade|index funds and active funds|
electric buses and trams|Keynesian and monetarist policy|supervised and unsupervised learning|
REST and GraphQL|universal basic income and negative income tax|public and private healthcare
financing|breadth-first and depth-first search|tabs and spaces|fixed and floating exchange rates|
proportional representation and first-past-the-post|heat pumps and gas boilers|agile and waterfall
project management|mitosis and meiosis|TCP and UDP|Stoicism and Epicureanism|impressionism and
expressionism|mutual and fixed-rate mortgages|hydrogen and battery trucks|desalination and water
recycling|homeschooling and public schooling|static and dynamic typing|cooperative and
competitive business models|solar farms and rooftop solar|vertical farming and greenhouse
farming|paper ballots and electronic voting|quicksort and mergesort|functional and object-oriented
programming|tariffs and quotas|trains and short-haul flights|debt and equity financing|the
Roman Republic and the Athenian democracy|inflation targeting and price-level targeting|
vaccination mandates and incentives|coal and natural gas power|bike lanes and congestion charges|
remote and office work|open-source and proprietary software|Linux and Windows servers|
Bayesian and frequentist statistics|defined-benefit and defined-contribution pensions|
photosynthesis and cellular respiration|mRNA and inactivated vaccines|nuclear fission and fusion|
lithium-ion and sodium-ion batteries|TCP congestion control and QUIC|unions and works councils|
community land trusts and social housing|fast fashion and slow fashion|electric scooters and
e-bikes|landlines and mobile networks|JPEG and PNG|git merge and git rebase|Kant and Mill on
lying|consensus and majority voting""".replace("\n", " "))
ASPECTS2 = L("""cost|reliability|fairness|long-term risk|environmental impact|ease of implementation|
scalability|public acceptance|effect on inequality|resilience to shocks|energy use|maintainability""".replace("\n", " "))
POLICIES = L("""ban cars from the city centre|make public transport free|introduce a tourist tax|build
a second airport|legalise short-term rental caps|replace parking with bike lanes|raise the local
minimum wage|switch street lighting to smart LEDs|move to a four-day school week|require green roofs
on new buildings|sell the municipal water utility|introduce congestion pricing|open 24-hour libraries|
subsidise rooftop solar|relocate the central market|ban single-use plastics|build a metro line|
adopt participatory budgeting|cap rent increases|pedestrianise the old town|tax vacant homes|
offer free school meals|merge with a neighbouring municipality|build a desalination plant|ban
gas boilers in new homes|host the Olympic Games|set a 30 km/h speed limit|plant 100,000 trees|
outsource waste collection|create a municipal broadband network""".replace("\n", " "))
STAKEHOLDERS = L("""local shop owners|commuters|pensioners|students|tourists|taxi drivers|landlords|
renters|delivery companies|parents of young children|people with disabilities|night-shift workers|
farmers on the outskirts|city hospitals|the fire service|cyclists|street vendors|hotel owners|
construction workers|low-income households""".replace("\n", " "))
METRICS = L("""median rent|average commute time|public transport ridership|unemployment rate|share of
renewable electricity|hospital beds per 1,000 people|average broadband speed|number of registered
startups|tourist arrivals|air quality index|household recycling rate|crime rate|cost of a monthly
transit pass|average salary of nurses|number of EV charging points|share of cycling trips|population
growth|average house price|coffee price index|water consumption per person""".replace("\n", " "))
ENTITIES = L("""mid-sized software companies|public hospitals|independent bookstores|coffee chains|
municipal bus operators|private universities|small dairy farms|boutique hotels|logistics startups|
solar installers|ride-hailing drivers|primary schools|craft breweries|dental clinics|community
gyms|wine producers|e-commerce sellers|co-working spaces|car-sharing services|language schools|
animal shelters|public libraries|fintech startups|bakeries|bicycle shops|pharmacies|biotech
labs|recycling centres|music venues|daycare centres""".replace("\n", " "))

# ------------------------------------------------------------ benign everyday vocabulary
CONCEPTS = L("""machine learning|blockchain|inflation|the stock market|a mortgage|photosynthesis|black holes|
quantum computing|climate change|the immune system|compound interest|a recession|an API|cloud
computing|the electoral college|DNA|a credit score|cryptocurrency|the greenhouse effect|
capitalism|democracy|a neural network|an index fund|GDP|the placebo effect|evolution|dark matter|
a VPN|gluten|cholesterol|a Roth IRA|the Pythagorean theorem|entropy|supply and demand|
a hedge fund|the Big Bang|a kernel in an operating system|stoicism|the Fibonacci sequence|
impostor syndrome|the Doppler effect|opportunity cost|a derivative in calculus|a sonnet|
intermittent fasting|a 401k|the speed of light|natural selection|RAM vs storage|a tariff|
an electric car battery|the ozone layer|a fiduciary|sourdough starter|carbon credits|
a virtual machine|the water cycle|existentialism|a credit default swap|5G|the Krebs cycle|
Docker|an LLC|mindfulness|a bear market|the Monty Hall problem|the Turing test|plate tectonics|
a solar eclipse|a firewall|a sinking fund|the Renaissance|cognitive dissonance|a prenup""".replace("\n", " "))
THINGS = L("""a microwave|wifi|a refrigerator|GPS|noise-cancelling headphones|a credit card|an
airplane wing|a heat pump|a nuclear reactor|bitcoin mining|a vaccine|an espresso machine|a touch
screen|solar panels|the internet|a 3D printer|an electric motor|a lithium battery|a search engine|
a dishwasher|a thermostat|a hybrid car|an MRI scanner|a toilet|a camera sensor|email|a
fingerprint reader|a hydroelectric dam|an induction stove|a barcode scanner|a pacemaker|
a smoke detector|a contactless payment|a submarine|a jet engine|autocorrect|a QR code|
a water filter|a bike gear system|Bluetooth""".replace("\n", " "))
INVENTIONS = L("""telephone|light bulb|printing press|internet|airplane|computer|radio|television|
bicycle|steam engine|refrigerator|microwave oven|zipper|post-it note|world wide web|smartphone|
vaccine|camera|calculator|sewing machine|typewriter|compass|telescope|microscope|car|
dishwasher|paper|ballpoint pen|traffic light|velcro""".replace("\n", " "))
FOODS = L("""oatmeal|peanut butter|white rice|coconut oil|greek yogurt|dark chocolate|coffee|eggs|
avocado|sparkling water|kombucha|tofu|red meat|honey|bananas|almond milk|protein bars|
sushi|instant noodles|kimchi|popcorn|granola|cheese|orange juice|sweet potatoes|lentils|
green tea|energy drinks|sourdough bread|frozen vegetables""".replace("\n", " "))
AILMENTS = L("""the flu|covid|strep throat|a migraine|food poisoning|dehydration|anemia|a sinus
infection|burnout|a panic attack|a sprained ankle|vitamin D deficiency|diabetes|tonsillitis|
mono|a UTI|hay fever|shingles|tennis elbow|a concussion|iron deficiency|insomnia|
a pinched nerve|gout|conjunctivitis""".replace("\n", " "))
PRODUCTS = L("""laptop|gaming monitor|mechanical keyboard|robot vacuum|air fryer|e-bike|standing desk|
coffee grinder|tablet|smartwatch|espresso machine|electric toothbrush|mattress|office chair|
DSLR camera|drone|projector|air purifier|rice cooker|running shoes|noise cancelling headphones|
soundbar|mesh wifi system|e-reader|stroller|dash cam|portable power station|blender|
sewing machine|car seat|graphics card|used car|electric kettle|dehumidifier|pressure washer|
smart thermostat|gaming chair|NAS drive|hiking backpack|cast iron pan""".replace("\n", " "))
USES = L("""students|programming|gaming|a small apartment|travel|video editing|beginners|
photography|working from home|a family of four|college|running marathons|a home gym|
under $500|seniors|small business|streaming|back pain|kids|outdoor use""".replace("\n", " "))
PEOPLE = L("""Marie Curie|Alan Turing|Nelson Mandela|Frida Kahlo|Genghis Khan|Ada Lovelace|
Mahatma Gandhi|Leonardo da Vinci|Cleopatra|Isaac Newton|Simon Bolivar|Rosalind Franklin|
Nikola Tesla|Wangari Maathai|Ibn Battuta|Hypatia|Charles Darwin|Queen Victoria|Ludwig van
Beethoven|Toussaint Louverture|Katherine Johnson|Confucius|Galileo Galilei|Harriet Tubman|
Albert Einstein|Mansa Musa|Florence Nightingale|Jose Rizal|Vincent van Gogh|Amelia Earhart""".replace("\n", " "))
LIFE_TASKS = L("""get rid of fruit flies|unclog a drain|negotiate my salary|get over jet lag|fall asleep
faster|start investing with little money|remove a red wine stain|stop procrastinating|make friends
in a new city|prepare for a job interview|write a resignation letter|fix a squeaky door|meal prep
for the week|get my deposit back from my landlord|build credit from scratch|clean a cast iron pan|
get my toddler to sleep|pay off credit card debt|learn to swim as an adult|train my puppy to stop
biting|speed up my old laptop|keep basil alive|file taxes as a freelancer|lower my electricity
bill|politely decline a wedding invitation|ask for a refund|change a bike tyre|plan a small
wedding|reduce screen time|study for finals in one week|move out of my parents house|apologise to
a friend|quit vaping|make cold brew at home|ask someone out|back up my phone photos""".replace("\n", " "))
ACTIVITIES = L("""public speaking|running a first marathon|learning guitar|studying for the GRE|
a long-haul flight|camping in the rain|working night shifts|learning japanese|first time
home buyers|remote work productivity|growing tomatoes|photographing the night sky|
a road trip with kids|writing a novel|hosting thanksgiving|learning to code at 40|
saving for retirement|taking better phone photos|decluttering|job hunting after a layoff""".replace("\n", " "))
INGREDIENTS = L("""chickpeas|spinach|leftover rice|eggs|canned tuna|sweet potato|feta|chicken thighs|
tofu|mushrooms|zucchini|lentils|ground beef|coconut milk|broccoli|salmon|black beans|
halloumi|pasta|potatoes|cabbage|bell peppers|ripe bananas|cauliflower|paneer|shrimp|
tortillas|bacon|quinoa|frozen peas""".replace("\n", " "))
RELATIONS = L("""boss|best friend|roommate|sister|brother|coworker|boyfriend|girlfriend|husband|wife|
mom|dad|neighbour|landlord|teenage son|teenage daughter|manager|teacher|friend group|in-laws""".replace("\n", " "))
SITUATIONS = L("""keeps taking credit for my work|never pays back money|ignores my messages|wants to
move across the country|forgot my birthday|keeps borrowing my car|is always late|criticises
everything I cook|wants to quit their job to start a business|plays loud music at night|
asked me to lie for them|keeps making plans without me|won't split bills fairly|
is being weird since the party|spends too much time on their phone|wants to get a dog""".replace("\n", " "))
WORK_REQUESTS = L("""a raise|a promotion|remote work|a day off|more responsibility|a lower workload|
a four day week|a training budget|a new laptop|a transfer to another team|flexible hours|
feedback on my performance""".replace("\n", " "))
SKILLS = L("""python|excel|public speaking|chess|spanish|drawing|touch typing|sql|cooking|piano|
statistics|negotiation|photoshop|data analysis|writing|machine learning|japanese|guitar|
video editing|budgeting|german|react|swimming|sales""".replace("\n", " "))
EXPENSES = L("""groceries|rent|car insurance|electricity|phone bills|flights|streaming services|
childcare|eating out|heating|gym membership|textbooks|petrol|wedding costs""".replace("\n", " "))
FITNESS = L("""losing 10 kg|building muscle at home|running a 5k|improving flexibility|getting a
pull-up|beginners with no equipment|people over 50|fixing posture|gaining weight|core
strength""".replace("\n", " "))
EMOTIONS = L("""anxiety before exams|loneliness after moving|stress at work|a breakup|procrastination|
homesickness|burnout|feeling stuck|jealousy|grief""".replace("\n", " "))
RECIPIENTS = L("""landlord|professor|boss|team|client|HR department|neighbour|child's teacher|
coworker|bank|internet provider|airline|school principal|recruiter|customer|supplier""".replace("\n", " "))
EMAIL_TOPICS = L("""a broken heater|missing a deadline|a late payment|requesting an extension|a
billing error|cancelling my subscription|a refund for a delayed flight|rescheduling a meeting|
a noise complaint|a job offer I want to decline|asking for a reference letter|following up after
an interview|a project update|asking for sick leave|a damaged package|a price increase|
introducing myself as the new account manager|a mistake in my invoice|requesting a meeting|
thanking them for their help""".replace("\n", " "))
TONES = L("""polite|firm but friendly|formal|casual|professional|apologetic|enthusiastic|concise|
warm|persuasive|neutral|confident""".replace("\n", " "))
ASKS = L("""for a deadline extension|for a refund|for feedback|for a meeting next week|to fix the
issue|for an update|for a discount|for a reference|to confirm the booking|for more time""".replace("\n", " "))
JOBS = L("""data analyst|marketing coordinator|software engineer|nurse|barista|graphic designer|project
manager|teacher|customer service representative|accountant|UX designer|sales associate|
warehouse supervisor|research assistant|product manager|receptionist|mechanical engineer|
social media manager|paralegal|dental assistant""".replace("\n", " "))
LENGTHS = L("short|500 word|two paragraph|one page|very short|long|1000 word|three sentence")
GENRES = L("""story|poem|horror story|bedtime story|fairy tale|sci-fi story|limerick|rap verse|
mystery story|haiku|song|dialogue""".replace("\n", " "))
STORY_TOPICS = L("""a dragon who is afraid of fire|two robots falling in love|a haunted library|my cat
becoming mayor|a time traveller stuck in 1999|friendship|the ocean|a lost umbrella|a detective
in Lagos|a village without electricity|the last tree on Earth|a pizza delivery on Mars|
growing up|a lighthouse keeper|a talking fridge|the first day of school|a heist at a museum|
a grandmother's recipe book|an AI that wants a holiday|autumn in Kyoto""".replace("\n", " "))
LI_TOPICS = L("""my new job|getting laid off|finishing a certification|lessons from 10 years in
sales|our product launch|hiring for my team|remote work|imposter syndrome|burnout|my startup
failing|mentorship|AI in marketing|graduating|a conference I attended""".replace("\n", " "))
OCCASIONS = L("""my sister's wedding|a retirement party|a school graduation|my dad's 60th birthday|
a team kickoff|a funeral|an award ceremony|a farewell for a coworker|a best man speech|
a charity dinner""".replace("\n", " "))
POETS = L("Shakespeare|Dr. Seuss|Emily Dickinson|Rumi|a pirate|Taylor Swift|Edgar Allan Poe|Pablo Neruda")
PHOTO_TOPICS = L("""a beach sunset|my new haircut|a hiking trip|brunch with friends|my dog|a city
skyline|graduation day|a coffee shop|a concert|the first snow""".replace("\n", " "))
LANGUAGES = L("""Spanish|French|German|Japanese|Korean|Portuguese|Italian|Chinese|Arabic|Hindi|Turkish|
Dutch|Polish|Vietnamese|Indonesian|Russian|English|Swahili|Tagalog|Thai""".replace("\n", " "))
PHRASES = L("""I miss you|good luck with your exam|where is the train station|the bill please|I'm
allergic to peanuts|happy birthday|see you tomorrow|I don't understand|how much does this cost|
nice to meet you|can I pay by card|congratulations on your new job|thank you for everything|
I'm running late|get well soon""".replace("\n", " "))
ERRORS = L("""TypeError: 'NoneType' object is not subscriptable|IndexError: list index out of range|
ModuleNotFoundError: No module named 'cv2'|SyntaxError: invalid syntax|TypeError: Cannot read
properties of undefined (reading 'map')|java.lang.NullPointerException|segmentation fault (core
dumped)|error[E0382]: borrow of moved value|fatal: refusing to merge unrelated histories|
CORS policy: No 'Access-Control-Allow-Origin' header is present|connect ECONNREFUSED 127.0.0.1:5432|
ValueError: could not convert string to float|KeyError: 'id'|RecursionError: maximum recursion
depth exceeded|panic: runtime error: index out of range|Uncaught ReferenceError: process is not
defined|ImportError: cannot import name 'soft_unicode' from 'markupsafe'|CUDA out of memory|
OSError: [Errno 98] Address already in use|npm ERR! ERESOLVE unable to resolve dependency tree|
error: failed to push some refs|Permission denied (publickey)|UnicodeDecodeError: 'utf-8' codec
can't decode byte 0xff|ssl.SSLCertVerificationError: certificate verify failed|
django.db.utils.OperationalError: no such table""".replace("\n", " "))
CODE_HOWTOS = L("""read a csv file|reverse a string|sort a dictionary by value|make an http request|
parse json|remove duplicates from a list|connect to postgres|read a file line by line|
center a div|format a date|write a unit test|debounce a function|use async await|
merge two dataframes|deploy to heroku|create a virtual environment|convert a string to int|
handle exceptions|upload a file|generate a random number|read environment variables|
send an email|scrape a website|resize an image|hash a password|paginate results|
set up a cron job|make a rest api|use regex to find emails|count word frequency""".replace("\n", " "))
CODE_CONCEPT_PAIRS = L("""let and const|== and ===|a list and a tuple|an interface and an abstract
class|threads and processes|git merge and git rebase|SQL joins|async and multithreading|a
class and a struct|stack and heap|props and state|PUT and PATCH|unit and integration tests|
a pointer and a reference|map and forEach|docker and a virtual machine""".replace("\n", " "))
REGEX_TARGETS = L("""email addresses|phone numbers with country code|dates like 2024-03-15|US zip codes|
URLs|hex colour codes|IPv4 addresses|words that start with a capital letter|hashtags|
prices like $12.99""".replace("\n", " "))
MATH_PROCS = L("""solve a quadratic equation|find the area of a triangle from three sides|calculate a
percentage increase|do long division|convert a fraction to a percentage|find the LCM of two numbers|
calculate standard deviation|solve a system of two equations|calculate a tip|find the slope of
a line|convert celsius to fahrenheit|calculate compound interest|find the volume of a cylinder|
do a chi-square test|calculate a weighted average|complete the square|use the chain rule|
factor a polynomial|calculate a loan payment|find a median""".replace("\n", " "))
FUNCS = L("""x^2 sin(x)|e^(3x) / x|ln(x^2 + 1)|sqrt(4x - 1)|x^3 - 5x^2 + 2x|cos(2x) e^x|
1 / (1 + e^-x)|x ln(x)|tan(x) / x|(2x + 1)^5|arctan(3x)|x e^(-x^2)""".replace("\n", " "))
FREQS = L("monthly|annually|quarterly|daily|weekly")
CALC_TARGETS = L("""my GPA|the break-even point|my BMI|net present value|the average speed of a
trip|how much paint I need for a room|my take-home pay|the return on an investment|calories
burned running|the probability of rolling two sixes|mortgage interest|a 15% discount""".replace("\n", " "))
SHORT_PROMPTS = [("hi", 30), ("hello", 12), ("hey", 8), ("Hi", 10), ("test", 8), ("Hello", 6),
                 ("hello?", 2), ("thanks", 4), ("?", 2), ("what can you do", 3), ("who are you", 3),
                 ("are you there", 1), ("yo", 1), ("good morning", 2), ("help", 2), ("testing 123", 1),
                 ("1+1", 1), ("ping", 1), ("hola", 2), ("what model are you?", 2),
                 ("what's today's date", 1), ("hi there", 2), ("hey!", 1), ("Test", 2), ("ok", 1),
                 ("how are you", 2), ("tell me a joke", 3), ("hii", 1), ("asdf", 0.5), (".", 0.5)]
FOLLOW_PROMPTS = [("thanks", 10), ("thank you!", 5), ("make it shorter", 5), ("shorter", 3),
                  ("can you make it more formal?", 3), ("explain that again more simply", 3),
                  ("why?", 3), ("give me another example", 3), ("continue", 5), ("go on", 2),
                  ("more details please", 2), ("are you sure?", 2), ("add more examples", 2),
                  ("now put it in a table", 2), ("perfect", 2), ("ok", 3), ("that's wrong", 1.5),
                  ("can you make it funnier", 1), ("rewrite it without bullet points", 1),
                  ("what about the second one?", 1.5), ("yes", 2), ("no", 1),
                  ("make it sound less like AI", 1.5), ("summarize that in one sentence", 1.5),
                  ("can you explain step by step?", 1.5), ("ok now write the tests", 1),
                  ("it still doesn't work", 1.5), ("translate that to spanish", 0.7),
                  ("use simpler words", 1), ("longer please", 1)]
STOCK_PROMPTS = [
    "I want you to act as a Linux terminal. I will type commands and you will reply with what the terminal should show. I want you to only reply with the terminal output inside one unique code block, and nothing else. Do not write explanations. My first command is pwd",
    "I want you to act as an English translator, spelling corrector and improver. I will speak to you in any language and you will detect the language, translate it and answer in the corrected and improved version of my text, in English.",
    "Explain quantum computing in simple terms",
    "Write a poem about the ocean",
    "I want you to act as a travel guide. I will write you my location and you will suggest a place to visit near my location.",
    "I want you to act as a motivational coach. I will provide you with some information about someone's goals and challenges, and it will be your job to come up with strategies that can help this person achieve their goals.",
    "Let's think step by step. A bat and a ball cost $1.10 in total. The bat costs $1.00 more than the ball. How much does the ball cost?",
    "Tell me a joke",
    "What is the meaning of life?",
    "Write a haiku about autumn",
    "Create a 7-day meal plan for weight loss",
    "Act as a senior software engineer and review my code for bugs, performance issues and style. Reply with a numbered list.",
    "You are an expert resume writer. Rewrite my resume to be more impactful and ATS friendly.",
    "Give me 10 creative ideas for a 10 year old's birthday party",
    "Explain like I'm five: how does the internet work?",
    "Summarize the plot of Hamlet in 3 sentences",
    "Write a cover letter for a software engineering internship",
    "Pretend you are my grandmother telling me a bedtime story",
    "What are the pros and cons of remote work?",
    "I want you to act as a Socratic tutor. Never give me the answer directly; ask me questions that lead me to it.",
    "Write a professional email asking for a raise",
    "Generate 20 blog post ideas about personal finance",
    "If a train travels 60 miles in 1.5 hours, what is its average speed? Explain step by step.",
    "What's the difference between affect and effect?",
    "Write a python script to rename all files in a folder",
    "Please proofread the following text and correct any grammar mistakes:",
    "Act as a Midjourney prompt generator. Give me 5 detailed prompts for a cyberpunk city at night.",
    "Solve this riddle: what has keys but can't open locks?",
]
CHAT_PROMPTS = L("""i'm bored|can you be my friend|what should I name my cat|do you dream?|
tell me something interesting|i can't sleep|what's your favourite movie|roast me|
give me a random fun fact|would you rather fight one horse-sized duck or 100 duck-sized horses|
what should i eat tonight|i had a bad day|say something nice|are you conscious|
what's the best pizza topping|tell me a riddle|rate my username: sk8rboi99|do you like music|
let's play 20 questions|i think my plant is sad|recommend me a song|what day is it|
write me a pickup line|is pineapple on pizza ok|guess my age""".replace("\n", " "))

# paragraph / snippet generators --------------------------------------------------------
P_SUBJ = L("""The committee|Our team|The city council|Most customers|The new policy|Sales in the northern
region|The prototype|Researchers at the lab|The landlord|Our supplier|The project manager|The school
board|Several employees|The finance department|The contractor|Local residents|The marketing agency|
The hospital|Our biggest client|The board of directors|The warehouse team|The auditors""".replace("\n", " "))
P_VERB = L("reported|approved|delayed|reviewed|rejected|questioned|discussed|launched|postponed|criticised|announced|finalised|renegotiated|expanded|cut|praised|paused")
P_OBJ = L("""the quarterly budget|a new onboarding process|shipping costs|the marketing plan|the office
renovation|customer complaints|the hiring freeze|the software migration|the annual report|the
safety inspection|the parking policy|the new pricing model|the training schedule|the vendor
contract|the remote work guidelines|the product roadmap|the waste collection schedule|the loyalty
programme|the server upgrade|the holiday rota|the expense policy|the data retention rules""".replace("\n", " "))
P_TAIL = L("""last week.|after months of debate.|despite strong objections.|ahead of schedule.|without
much explanation.|because of rising costs.|following a customer survey.|at Tuesday's meeting.|for
the third time this year.|pending legal review.|to everyone's surprise.|after the audit.|in
response to the new regulations.|with immediate effect.|until further notice.|in a short email.""".replace("\n", " "))
P_NUM = ["Revenue was {}% lower than forecast.", "About {} people attended the session.",
         "The delay is expected to cost roughly ${}k.", "Support tickets rose by {}% in a month.",
         "Only {} of the planned tasks were completed.", "The deadline moved by {} days."]
REVIEW_OPEN = L("""Honestly|Ordered this last month and|Bought it for my dad,|Second one I've owned,|
Got it on sale and|Not gonna lie,|After two weeks of use|Wanted to love it but|5 stars,|
Returned it because|Exactly as described,|Meh.""".replace("\n", " "))
REVIEW_BODY = L("""it stopped working after three days|the battery lasts forever|it arrived broken|
the instructions were useless|it's way smaller than the photos|it does exactly what it says|
customer service never replied|the colour is off but it works fine|it's loud but powerful|
setup took five minutes|it smells weird|the quality surprised me|shipping took a month|
it overheats when charging|my kids love it|it feels cheap|worth every penny|
the app keeps disconnecting|it's fine for the price|I use it every day now""".replace("\n", " "))
REVIEW_CLOSE = L("""Would buy again.|Not recommended.|Three stars.|Do not buy!!|Love it.|
Could be better.|Good value.|Returning it.|Happy overall.|""".replace("\n", " ")) + [""]
SNIPPETS = [
    "def @f(@v):\n    total = 0\n    for x in @v:\n        total += x\n    return total / len(@v)",
    "for i in range(len(@v)):\n    if @v[i] == @v[i + 1]:\n        print(i)",
    "const @v = await fetch(url).then(r => r.json());\nconsole.log(@v.@p.length);",
    "SELECT @p, COUNT(*) FROM @t GROUP BY @p HAVING COUNT(*) > @n;",
    "@v = pd.read_csv('@t.csv')\n@v['@p'] = @v['@p'].apply(lambda x: x.strip())\nprint(@v.groupby('@p').size())",
    "func @F(@v []int) int {\n\tm := @v[0]\n\tfor _, x := range @v {\n\t\tif x > m {\n\t\t\tm = x\n\t\t}\n\t}\n\treturn m\n}",
    "public int @f(List<Integer> @v) {\n    int s = 0;\n    for (int i = 0; i <= @v.size(); i++) s += @v.get(i);\n    return s;\n}",
    "useEffect(() => {\n  set@F(@v.filter(x => x.@p));\n}, [@v]);",
    "let mut @v = Vec::new();\nfor line in reader.lines() {\n    @v.push(line?);\n}\nprintln!(\"{}\", @v.len());",
    "@v = {}\nfor row in rows:\n    @v[row['@p']] += 1",
    "df_@t = spark.read.parquet(path).filter(col('@p') > @n)\ndf_@t.write.mode('overwrite').saveAsTable('@t')",
    "async function @f(id) {\n  const res = await db.query('SELECT * FROM @t WHERE id = ' + id);\n  return res.rows[0].@p;\n}",
    "while True:\n    @v = requests.get(URL).json()\n    if @v['@p']:\n        break",
    "class @F:\n    def __init__(self, @v=[]):\n        self.@v = @v\n    def add(self, x):\n        self.@v.append(x)",
    "x = [@n, 3, 7]\ny = x\ny.append(@n)\nprint(len(x), x[-1])",
]
SNIP_VARS = L("data|items|users|result|rows|vals|arr|records|orders|scores|tmp|cache|payload|nums|entries")
SNIP_PROPS = L("name|price|status|email|created_at|user_id|score|total|category|country|amount|title")
SNIP_TABLES = L("orders|users|events|payments|products|sessions|invoices|logs|customers|tickets")
SNIP_FUNCS = L("average|process|parse|compute|handle|load|merge|clean|update|summarize|fetch|check")


def gen_paragraph(rng, m, ctx=None, lo=3, hi=7):
    ns = rng.integers(lo, hi + 1, m)
    tot = int(ns.sum())
    s = rng.integers(0, len(P_SUBJ), tot)
    v = rng.integers(0, len(P_VERB), tot)
    o = rng.integers(0, len(P_OBJ), tot)
    t = rng.integers(0, len(P_TAIL), tot)
    isnum = rng.random(tot) < 0.18
    nk = rng.integers(0, len(P_NUM), tot)
    nv = rng.integers(2, 95, tot)
    sents = [P_NUM[nk[i]].format(nv[i]) if isnum[i] else
             f"{P_SUBJ[s[i]]} {P_VERB[v[i]]} {P_OBJ[o[i]]} {P_TAIL[t[i]]}" for i in range(tot)]
    out, k = [], 0
    for n in ns.tolist():
        out.append(" ".join(sents[k:k + n]))
        k += n
    return objarr(out)


def gen_short_paragraph(rng, m, ctx=None):
    return gen_paragraph(rng, m, ctx, 1, 3)


def gen_review(rng, m, ctx=None):
    a = rng.integers(0, len(REVIEW_OPEN), m)
    b = rng.integers(0, len(REVIEW_BODY), m)
    b2 = rng.integers(0, len(REVIEW_BODY), m)
    c = rng.integers(0, len(REVIEW_CLOSE), m)
    two = rng.random(m) < 0.4
    return objarr([f"{REVIEW_OPEN[a[i]]} {REVIEW_BODY[b[i]]}" + (f" and {REVIEW_BODY[b2[i]]}" if two[i] else "")
                   + f". {REVIEW_CLOSE[c[i]]}".rstrip() for i in range(m)])


def gen_snippet(rng, m, ctx=None):
    k = rng.integers(0, len(SNIPPETS), m)
    v = rng.integers(0, len(SNIP_VARS), m)
    p = rng.integers(0, len(SNIP_PROPS), m)
    t = rng.integers(0, len(SNIP_TABLES), m)
    f = rng.integers(0, len(SNIP_FUNCS), m)
    n = rng.integers(1, 100, m)
    out = []
    for i in range(m):
        fn = SNIP_FUNCS[f[i]]
        out.append(SNIPPETS[k[i]].replace("@v", SNIP_VARS[v[i]]).replace("@p", SNIP_PROPS[p[i]])
                   .replace("@t", SNIP_TABLES[t[i]]).replace("@F", fn.capitalize())
                   .replace("@f", fn).replace("@n", str(n[i])))
    return objarr(out)


def gen_sentence(rng, m, ctx=None):
    s = rng.integers(0, len(P_SUBJ), m)
    v = rng.integers(0, len(P_VERB), m)
    o = rng.integers(0, len(P_OBJ), m)
    t = rng.integers(0, len(P_TAIL), m)
    return objarr([f"{P_SUBJ[s[i]]} {P_VERB[v[i]]} {P_OBJ[o[i]]} {P_TAIL[t[i]]}" for i in range(m)])


def gen_dialog(rng, m, ctx=None):
    n = rng.integers(3, 8, m)
    out = []
    for i in range(m):
        who = rng.integers(0, len(NAMES), 3)
        sents = gen_sentence(rng, int(n[i]))
        out.append("\n".join(f"{NAMES[who[j % 3]]}: {sents[j]}" for j in range(int(n[i]))))
    return objarr(out)


def gen_diff(rng, m, ctx=None):
    sn = gen_snippet(rng, m)
    out = []
    for s in sn:
        lines = s.split("\n")
        j = len(lines) // 2
        out.append("--- a/src/app.py\n+++ b/src/app.py\n@@ -10,%d +10,%d @@\n" % (len(lines), len(lines))
                   + "\n".join((" " if i != j else "-") + ln for i, ln in enumerate(lines))
                   + "\n+" + lines[j].replace("==", "is").replace("+=", "-=") )
    return objarr(out)


# ----------------------------------------------------------------------------------
# the (invented) internet: countries, ISPs, mobile carriers, clouds, VPN hosts
# ASNs are borrowed loosely for flavour; prefixes are synthetic but non-overlapping.
# ----------------------------------------------------------------------------------
# code, weight, [(utc offset h, w)], lang, lang share, residential ISPs, mobile carriers, local mail
COUNTRY_SPEC = [
    ("US", 22, [(-4, .47), (-5, .29), (-6, .07), (-7, .17)], "en", 0,
     [("Comcast Cable", 7922), ("Charter Spectrum", 20115), ("AT&T Internet", 7018), ("Verizon Fios", 701),
      ("Cox Communications", 22773), ("CenturyLink", 209), ("Frontier", 5650)],
     [("T-Mobile USA", 21928), ("Verizon Wireless", 22394), ("AT&T Mobility", 20057)],
     ["comcast.net", "att.net", "aol.com"]),
    ("IN", 9, [(5.5, 1)], "en", 0,
     [("Reliance Jio Fiber", 55836), ("Bharti Airtel Broadband", 24560), ("ACT Fibernet", 24309), ("BSNL", 9829)],
     [("Jio 4G", 55836), ("Airtel Mobile", 45609), ("Vodafone Idea", 38266)], ["rediffmail.com", "yahoo.co.in"]),
    ("GB", 5, [(1, 1)], "en", 0,
     [("BT", 2856), ("Virgin Media", 5089), ("Sky Broadband", 5607), ("TalkTalk", 13285)],
     [("EE", 12576), ("Vodafone UK", 25135), ("Three UK", 206067)], ["btinternet.com", "yahoo.co.uk", "sky.com"]),
    ("DE", 5, [(2, 1)], "de", .55,
     [("Deutsche Telekom", 3320), ("Vodafone Kabel", 3209), ("Telefonica Germany", 6805), ("1&1 Versatel", 8881)],
     [("Telekom Mobil", 3320), ("Vodafone DE Mobil", 3209), ("O2 DE Mobil", 6805)], ["gmx.de", "web.de", "t-online.de"]),
    ("FR", 3.5, [(2, 1)], "fr", .65,
     [("Orange France", 3215), ("Free SAS", 12322), ("SFR", 15557), ("Bouygues Telecom", 5410)],
     [("Orange Mobile", 3215), ("Free Mobile", 51207), ("SFR Mobile", 15557)], ["orange.fr", "free.fr", "laposte.net"]),
    ("BR", 5, [(-3, 1)], "pt", .8,
     [("Claro NET", 28573), ("Vivo Fibra", 18881), ("Oi Fibra", 7738), ("TIM Live", 26615)],
     [("Claro Movel", 28573), ("Vivo Movel", 26599), ("TIM Brasil", 26615)], ["uol.com.br", "bol.com.br"]),
    ("CA", 3, [(-4, .6), (-5, .1), (-6, .1), (-7, .2)], "en", 0,
     [("Bell Canada", 577), ("Rogers", 812), ("Telus", 852), ("Shaw", 6327)],
     [("Rogers Wireless", 812), ("Bell Mobility", 36522), ("Telus Mobility", 852)], ["rogers.com", "shaw.ca"]),
    ("JP", 3.5, [(9, 1)], "ja", .75,
     [("NTT OCN", 4713), ("KDDI au Hikari", 2516), ("SoftBank BB", 17676), ("So-net", 2527)],
     [("NTT Docomo", 9605), ("KDDI au", 2516), ("SoftBank Mobile", 17676)], ["yahoo.co.jp", "docomo.ne.jp"]),
    ("KR", 2.5, [(9, 1)], "ko", .7,
     [("KT", 4766), ("SK Broadband", 9318), ("LG U+", 17858)],
     [("SK Telecom", 9644), ("KT Mobile", 4766), ("LG U+ Mobile", 17858)], ["naver.com", "daum.net"]),
    ("ID", 3, [(7, .8), (8, .2)], "id", .6,
     [("Telkom Indonesia", 7713), ("Biznet", 17451), ("First Media", 23700)],
     [("Telkomsel", 23693), ("Indosat", 4761), ("XL Axiata", 24203)], ["yahoo.co.id"]),
    ("PH", 2, [(8, 1)], "en", 0,
     [("PLDT", 9299), ("Globe Broadband", 4775), ("Converge ICT", 17639)],
     [("Smart", 10139), ("Globe Mobile", 132199), ("DITO", 139831)], ["yahoo.com.ph"]),
    ("VN", 2, [(7, 1)], "en", 0,
     [("Viettel", 7552), ("VNPT", 45899), ("FPT Telecom", 18403)],
     [("Viettel Mobile", 7552), ("Vinaphone", 45899), ("MobiFone", 131429)], []),
    ("SG", 1.2, [(8, 1)], "en", 0,
     [("Singtel", 3758), ("StarHub", 4657), ("M1", 4773)],
     [("Singtel Mobile", 9506), ("StarHub Mobile", 55430)], ["singnet.com.sg"]),
    ("MY", 1.2, [(8, 1)], "en", 0,
     [("TM Unifi", 4788), ("Maxis Fibre", 9534), ("TIME dotCom", 9930)],
     [("Maxis", 9534), ("CelcomDigi", 10030), ("U Mobile", 38466)], []),
    ("TW", 1.5, [(8, 1)], "en", 0,
     [("Chunghwa HiNet", 3462), ("Taiwan Fixed Network", 9924), ("So-net TW", 18182)],
     [("Chunghwa Mobile", 9919), ("Far EasTone", 24158)], []),
    ("AU", 2, [(10, .85), (8, .15)], "en", 0,
     [("Telstra", 1221), ("Optus", 4804), ("TPG", 7545), ("Aussie Broadband", 4764)],
     [("Telstra Mobile", 1221), ("Optus Mobile", 4804), ("Vodafone AU", 133612)], ["bigpond.com", "optusnet.com.au"]),
    ("MX", 2.5, [(-6, 1)], "es", .75,
     [("Telmex", 8151), ("Totalplay", 17072), ("izzi", 28548)],
     [("Telcel", 28403), ("AT&T Mexico", 11888)], ["hotmail.es", "prodigy.net.mx"]),
    ("ES", 2, [(2, 1)], "es", .7,
     [("Telefonica Espana", 3352), ("Orange Espana", 12479), ("Vodafone Espana", 12430)],
     [("Movistar", 3352), ("Orange ES Movil", 12479)], ["telefonica.net", "hotmail.es"]),
    ("IT", 2, [(2, 1)], "it", .6,
     [("TIM", 3269), ("Fastweb", 12874), ("Vodafone Italia", 30722), ("WINDTRE", 1267)],
     [("TIM Mobile", 3269), ("WindTre Mobile", 1267)], ["libero.it", "virgilio.it"]),
    ("NL", 1.2, [(2, 1)], "en", 0,
     [("KPN", 1136), ("Ziggo", 33915), ("Odido", 50266)],
     [("KPN Mobiel", 1136), ("Vodafone NL", 33915)], ["ziggo.nl", "kpnmail.nl"]),
    ("PL", 1.5, [(2, 1)], "en", 0,
     [("Orange Polska", 5617), ("Play", 12912), ("Vectra", 29314)],
     [("Plus", 12912), ("T-Mobile PL", 12912)], ["wp.pl", "onet.pl", "o2.pl"]),
    ("TR", 2, [(3, 1)], "tr", .65,
     [("Turk Telekom", 9121), ("Superonline", 34984), ("Vodafone Net", 15924)],
     [("Turkcell", 16135), ("Vodafone TR", 15897)], []),
    ("NG", 1.5, [(1, 1)], "en", 0,
     [("Spectranet", 37340), ("MainOne", 37282)],
     [("MTN Nigeria", 29465), ("Airtel Nigeria", 36873), ("Globacom", 37148)], ["yahoo.com"]),
    ("KE", .8, [(3, 1)], "en", 0,
     [("Safaricom Home", 33771), ("Zuku", 15808)], [("Safaricom", 33771), ("Airtel Kenya", 36926)], []),
    ("EG", 1.2, [(3, 1)], "en", 0,
     [("TE Data", 8452), ("Vodafone Egypt DSL", 24835)], [("Vodafone Egypt", 24835), ("Orange Egypt", 24863)], []),
    ("ZA", 1, [(2, 1)], "en", 0,
     [("Telkom SA", 37457), ("Vumatel", 328745), ("Afrihost", 37611)],
     [("Vodacom", 29975), ("MTN SA", 16637)], ["mweb.co.za"]),
    ("AR", 1.2, [(-3, 1)], "es", .75,
     [("Telecom Argentina", 7303), ("Telefonica AR", 22927)], [("Claro AR", 11664), ("Personal", 7303)], []),
    ("CO", 1.2, [(-5, 1)], "es", .75,
     [("Claro Colombia", 10620), ("Tigo UNE", 13489)], [("Claro Movil CO", 10620), ("Movistar CO", 3816)], []),
    ("CL", .8, [(-4, 1)], "es", .75,
     [("VTR", 22047), ("Movistar Chile", 7418)], [("Entel", 27651), ("WOM", 27995)], []),
    ("PK", 1.5, [(5, 1)], "en", 0,
     [("PTCL", 17557), ("Nayatel", 23674)], [("Jazz", 45669), ("Zong", 59257)], []),
    ("BD", 1, [(6, 1)], "en", 0,
     [("BTCL", 17494), ("Link3", 23688)], [("Grameenphone", 24389), ("Robi", 24432)], []),
    ("UA", 1, [(3, 1)], "en", 0,
     [("Ukrtelecom", 6849), ("Kyivstar Home", 15895)], [("Kyivstar", 15895), ("lifecell", 34058)], ["ukr.net"]),
    ("SE", .8, [(2, 1)], "en", 0,
     [("Telia", 3301), ("Bahnhof", 8473)], [("Tele2", 1257), ("Telia Mobil", 3301)], []),
    ("AE", 1, [(4, 1)], "en", 0,
     [("Etisalat", 5384), ("du", 15802)], [("Etisalat Mobile", 5384), ("du Mobile", 15802)], []),
    ("SA", 1, [(3, 1)], "en", 0,
     [("STC", 25019), ("Mobily Fiber", 35819)], [("STC Mobile", 25019), ("Zain SA", 43766)], []),
    ("IL", .8, [(3, 1)], "en", 0,
     [("Bezeq", 8551), ("Partner", 12400)], [("Cellcom", 1680), ("Pelephone", 9538)], []),
    ("TH", 1.2, [(7, 1)], "en", 0,
     [("True Online", 7470), ("3BB", 45758)], [("AIS", 131445), ("TrueMove", 24378)], []),
]
C_CODE = [c[0] for c in COUNTRY_SPEC]
C_IDX = {c: i for i, c in enumerate(C_CODE)}
C_W = np.array([c[1] for c in COUNTRY_SPEC], float)
LANG_OF = [c[3] for c in COUNTRY_SPEC]
LANGP_OF = np.array([c[4] for c in COUNTRY_SPEC], float) * 0.6   # many users still prompt in English

# (name, asn, cc, [/16 prefixes], kind)
FIXED_NETS = [
    ("Amazon AWS", 16509, "US", ["3.80", "3.81", "3.90", "18.204", "18.206", "34.192", "44.192", "52.0", "54.80", "54.160"], "cloud"),
    ("Amazon AWS", 16509, "IE", ["34.240", "52.16", "54.72"], "cloud"),
    ("Amazon AWS", 16509, "DE", ["3.64", "18.184", "52.28"], "cloud"),
    ("Amazon AWS", 16509, "SG", ["13.228", "18.136", "52.74"], "cloud"),
    ("Amazon AWS", 16509, "JP", ["13.112", "54.64"], "cloud"),
    ("Amazon AWS", 16509, "IN", ["13.232", "65.0"], "cloud"),
    ("Google Cloud", 396982, "US", ["34.16", "34.27", "35.185", "35.222"], "cloud"),
    ("Google Cloud", 396982, "NL", ["34.90", "35.204"], "cloud"),
    ("Google Cloud", 396982, "SG", ["34.87", "35.187"], "cloud"),
    ("Microsoft Azure", 8075, "US", ["20.42", "20.51", "40.76", "52.170"], "cloud"),
    ("Microsoft Azure", 8075, "NL", ["20.50", "51.105"], "cloud"),
    ("Microsoft Azure", 8075, "SG", ["20.205", "52.187"], "cloud"),
    ("DigitalOcean", 14061, "US", ["159.89", "167.99", "138.68", "64.225", "143.198"], "cloud"),
    ("DigitalOcean", 14061, "NL", ["46.101", "188.166"], "cloud"),
    ("DigitalOcean", 14061, "SG", ["139.59", "128.199"], "cloud"),
    ("Hetzner Online", 24940, "DE", ["65.108", "95.216", "116.203", "49.12", "5.161"], "cloud"),
    ("Hetzner Online", 24940, "FI", ["135.181", "65.21"], "cloud"),
    ("OVHcloud", 16276, "FR", ["51.38", "51.77", "54.36", "145.239"], "cloud"),
    ("OVHcloud", 16276, "CA", ["142.44", "158.69"], "cloud"),
    ("Akamai Linode", 63949, "US", ["172.104", "45.79", "45.33"], "cloud"),
    ("Akamai Linode", 63949, "DE", ["139.162", "172.105"], "cloud"),
    ("Vultr", 20473, "US", ["45.32", "45.76", "149.28", "207.148"], "cloud"),
    ("Vultr", 20473, "JP", ["45.77", "108.61"], "cloud"),
    ("Oracle Cloud", 31898, "US", ["129.146", "150.136", "132.145"], "cloud"),
    ("Tencent Cloud", 132203, "SG", ["43.134", "43.156"], "cloud"),
    ("M247", 9009, "GB", ["185.206", "89.238"], "vpn"),
    ("M247", 9009, "US", ["38.132", "146.70"], "vpn"),
    ("M247", 9009, "DE", ["193.176", "217.138"], "vpn"),
    ("Datacamp", 60068, "NL", ["156.146", "212.102"], "vpn"),
    ("Datacamp", 60068, "SG", ["84.17", "89.187"], "vpn"),
    ("Leaseweb", 60781, "NL", ["212.32", "83.149"], "vpn"),
]
EDU_NETS = [("DFN Verein (Uni Nordhafen)", 680, "DE"), ("Lakeshore State University", 32413, "US"),
            ("NKN (Bharatpur Inst. of Technology)", 55824, "IN")]


class Internet:
    """Static table of networks; identical for every seed."""

    def __init__(self):
        rng = np.random.default_rng(20260422)
        self.name, self.asn, self.cc, self.kind, self.v6, self.blocks = [], [], [], [], [], []
        used = set()
        self.key = {}

        def add(name, asn, cc, blocks, kind, v6=None, key=None):
            self.name.append(name); self.asn.append(asn); self.cc.append(cc)
            self.kind.append(kind); self.v6.append(v6); self.blocks.append(blocks)
            if key:
                self.key[key] = len(self.name) - 1
            return len(self.name) - 1

        for name, asn, cc, pref, kind in FIXED_NETS:
            bl = []
            for p in pref:
                a, b = map(int, p.split("."))
                used.add((a, b))
                bl.append((a << 24) | (b << 16))
            add(name, asn, cc, bl, kind, key=f"{kind}:{name}:{cc}")
        excl = {0, 10, 100, 127, 169, 172, 192, 198, 203}
        free = [(a, b) for a in range(1, 224) for b in range(256) if a not in excl and (a, b) not in used]
        order = rng.permutation(len(free))
        self._free = [free[i] for i in order]
        self._fp = 0

        def take(k):
            out = []
            for _ in range(k):
                a, b = self._free[self._fp]
                self._fp += 1
                out.append((a << 24) | (b << 16))
            return out

        def v6pref(cc):
            if cc in ("US", "CA"):
                head = rng.choice(["2600", "2601", "2602", "2603", "2605", "2607"])
            elif cc in ("JP", "KR", "IN", "ID", "PH", "VN", "SG", "MY", "TW", "AU", "PK", "BD", "TH"):
                head = rng.choice(["2400", "2401", "2402", "2403", "2404", "2405", "2406", "2407", "2409"])
            elif cc in ("BR", "MX", "AR", "CO", "CL"):
                head = rng.choice(["2800", "2804", "2806", "2803"])
            elif cc in ("NG", "KE", "EG", "ZA"):
                head = rng.choice(["2c0f", "2c0e", "2001"])
            else:
                head = rng.choice(["2a00", "2a01", "2a02", "2a04", "2a05", "2001"])
            return f"{head}:{int(rng.integers(0x1000, 0xffff)):x}"

        self.c_isps, self.c_ispw, self.c_mobs, self.c_mobw = [], [], [], []
        for code, w, tzs, lang, lp, isps, mobs, mail in COUNTRY_SPEC:
            ids, ws = [], []
            for j, (nm, asn) in enumerate(isps):
                nb = int(np.clip(round(w * 0.5 / (j + 1) ** 0.6) + 1, 1, 8))
                v6 = v6pref(code) if rng.random() < 0.6 else None
                ids.append(add(nm, asn, code, take(nb), "isp", v6))
                ws.append(1.0 / (j + 1) ** 0.7)
            self.c_isps.append(np.array(ids)); self.c_ispw.append(norm(ws))
            ids, ws = [], []
            for j, (nm, asn) in enumerate(mobs):
                ids.append(add(nm, asn, code, take(1), "mobile"))
                ws.append(1.0 / (j + 1) ** 0.5)
            self.c_mobs.append(np.array(ids)); self.c_mobw.append(norm(ws))
        for nm, asn, cc in EDU_NETS:
            add(nm, asn, cc, take(1), "edu", key=f"edu:{cc}")
        n = len(self.name)
        mb = max(len(b) for b in self.blocks)
        self.BLK = np.zeros((n, mb), np.int64)
        self.NBLK = np.array([len(b) for b in self.blocks], np.int64)
        for i, b in enumerate(self.blocks):
            self.BLK[i, :len(b)] = b
        self.ASN = np.array(self.asn, np.int64)
        self.CC = objarr(self.cc)
        self.V6 = objarr(self.v6)
        self.HASV6 = np.array([v is not None for v in self.v6])
        self.all_isps = np.concatenate(self.c_isps)

    def net(self, kind, name, cc):
        return self.key[f"{kind}:{name}:{cc}"]

    def clouds(self, name):
        return [i for i, (n, k) in enumerate(zip(self.name, self.kind)) if n == name and k in ("cloud", "vpn")]

    def v4_random(self, rng, nets):
        nets = np.asarray(nets, np.int64)
        m = len(nets)
        b = self.BLK[nets, (rng.random(m) * self.NBLK[nets]).astype(np.int64)]
        return b + rng.integers(0, 256, m) * 256 + rng.integers(1, 255, m)

    def v4_hashed(self, nets, key):
        nets = np.asarray(nets, np.int64)
        k = mix64(key)
        b = self.BLK[nets, (k % self.NBLK[nets].astype(np.uint64)).astype(np.int64)]
        host = ((k >> np.uint64(20)) % np.uint64(256)).astype(np.int64) * 256 + \
            1 + ((k >> np.uint64(40)) % np.uint64(254)).astype(np.int64)
        return b + host


NET = Internet()


# ----------------------------------------------------------------------------------
# user agents
# ----------------------------------------------------------------------------------
class UATable:
    def __init__(self):
        self.s: list[str] = []
        self.idx: dict[str, int] = {}
        self.groups: dict[str, tuple[list[int], np.ndarray]] = {}

    def add(self, s):
        if s not in self.idx:
            self.idx[s] = len(self.s)
            self.s.append(s)
        return self.idx[s]

    def group(self, name, items):
        ids = [self.add(s) for s, _ in items]
        self.groups[name] = (np.array(ids), norm([w for _, w in items]))

    def sample(self, rng, name, n):
        ids, w = self.groups[name]
        return ids[rng.choice(len(ids), size=n, p=w)]


UA = UATable()
_desk = []
for v, w in ((146, 3), (147, 6), (148, 2)):
    _desk += [(f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36", 30 * w),
              (f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36", 13 * w),
              (f"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36", 3 * w),
              (f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36 Edg/{v}.0.{3300 + v}.{40 + v % 7}", 6 * w),
              (f"Mozilla/5.0 (X11; CrOS x86_64 16463.{v % 10}.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Safari/537.36", 1 * w)]
for v, w in (("26.3.1", 2), ("26.4", 5), ("26.4.1", 3)):
    _desk.append((f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/{v} Safari/605.1.15", 9 * w))
for v, w in ((149, 1), (150, 2)):
    _desk += [(f"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0", 6 * w),
              (f"Mozilla/5.0 (X11; Linux x86_64; rv:{v}.0) Gecko/20100101 Firefox/{v}.0", 2 * w),
              (f"Mozilla/5.0 (Macintosh; Intel Mac OS X 15.4; rv:{v}.0) Gecko/20100101 Firefox/{v}.0", 1 * w)]
UA.group("desktop", _desk)
_mob = []
for v, w in ((146, 2), (147, 5), (148, 2)):
    _mob += [(f"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{v}.0.0.0 Mobile Safari/537.36", 40 * w),
             (f"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/29.0 Chrome/{v}.0.0.0 Mobile Safari/537.36", 6 * w),
             (f"Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/{v}.0.0.0 Mobile/15E148 Safari/604.1", 4 * w)]
for v, w in (("26.3", 3), ("26.4", 6)):
    _mob.append((f"Mozilla/5.0 (iPhone; CPU iPhone OS 18_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/{v} Mobile/15E148 Safari/604.1", 35 * 3 * (2 if v == "26.4" else 1)))
UA.group("mobile_browser", _mob)
ANDROID_DEV = L("SM-S928B|SM-A546E|Pixel 9|Pixel 8a|SM-A155F|23129RAA4G|CPH2581|moto g84 5G|SM-G991B|2312DRA50G|V2309|RMX3834|SM-S921U|Pixel 7|SM-A256E")
IOS_DEV = L("iPhone17,1|iPhone16,2|iPhone15,4|iPhone14,5|iPhone17,3|iPhone13,2|iPhone16,1")
_app = []
for ver, w in (("3.14.1", 2), ("3.14.2", 3), ("3.15.0", 2)):
    for dv in ANDROID_DEV:
        _app.append((f"NovaChat/{ver} (Android {15 if dv[-1] in '0123456789' else 16}; {dv})", w))
    for dv in IOS_DEV:
        _app.append((f"NovaChat/{ver} (iOS 26.4; {dv})", 1.6 * w))
UA.group("app", _app)
UA.group("android_app", [(s, w) for s, w in _app if "Android" in s])
UA.group("sdk", [("nova-python/2.4.1", 14), ("nova-python/2.5.0", 10), ("nova-node/2.2.3", 9), ("nova-node/2.3.0", 5),
                 ("OpenAI/Python 1.82.0", 9), ("OpenAI/JS 4.104.0", 4), ("python-httpx/0.28.1", 7),
                 ("python-requests/2.32.3", 8), ("axios/1.9.0", 4), ("Go-http-client/2.0", 4), ("curl/8.7.1", 4),
                 ("okhttp/4.12.0", 2), ("Java-http-client/21.0.6", 2), ("PostmanRuntime/7.44.0", 2),
                 ("aiohttp/3.11.18", 3), ("nova-go/0.9.2", 1), ("Ruby", 1), ("node-fetch", 2)])
UA.group("bulk_sdk", [("python-requests/2.32.3", 5), ("python-httpx/0.28.1", 4), ("aiohttp/3.11.18", 3),
                      ("nova-python/2.4.1", 3), ("OpenAI/Python 1.82.0", 2)])
UA_EVAL = UA.add("evalkit/2.3.1 (+https://meridian-evals.com/evalkit) python-httpx/0.28.1")
UA_RELAY = UA.add("relaymesh-gateway/2.8.1")
UA_SAAS = UA.add("Quillpad-Backend/5.14.0 (python-httpx/0.28.1)")
UA.group("agent_sdk", [("nova-python/2.5.0 agents-kit/0.9.3", 3), ("python-httpx/0.28.1", 2), ("nova-node/2.3.0", 1)])


# ----------------------------------------------------------------------------------
# prompt banks
# ----------------------------------------------------------------------------------
_FMT = string.Formatter()
BANKS: list = []
SYS: list[str] = []
_SYS_IDX: dict[str, int] = {}


def sys_id(text: str) -> int:
    if text not in _SYS_IDX:
        _SYS_IDX[text] = len(SYS)
        SYS.append(text)
    return _SYS_IDX[text]


def _prep(spec):
    if isinstance(spec, (list, tuple)) and spec and spec[0] == "int":
        return ("int", int(spec[1]), int(spec[2]))
    if isinstance(spec, list):
        return objarr(spec)
    return spec


def slot_vals(spec, rng, m, ctx):
    if isinstance(spec, np.ndarray):
        return spec[rng.integers(0, len(spec), m)]
    if isinstance(spec, tuple):
        return rng.integers(spec[1], spec[2] + 1, m)
    if isinstance(spec, TBank):
        return spec.render(rng, m, ctx)[0]
    return spec(rng, m, ctx)


def _positional(fmt):
    names = []
    for _lit, fname, _spec, _conv in _FMT.parse(fmt):
        if fname is not None and fname not in names:
            names.append(fname)
    pf = fmt
    for j, nm in enumerate(names):
        pf = pf.replace("{" + nm + "}", "{" + str(j) + "}")
    return pf, names


class Bank:
    unique = False

    def __init__(self):
        self.id = len(BANKS)
        BANKS.append(self)


class TBank(Bank):
    """Templates with random fill."""

    def __init__(self, items, slots=None, kind=K_QA, human=None):
        super().__init__()
        self.human = human
        self.fmts, self.fields, self.w, self.kinds = [], [], [], []
        for it in items:
            if isinstance(it, str):
                fmt, w, k = it, 1.0, kind
            elif len(it) == 2:
                (fmt, w), k = it, kind
            else:
                fmt, w, k = it
            pf, names = _positional(fmt)
            self.fmts.append(pf); self.fields.append(names); self.w.append(w); self.kinds.append(k)
        self.w = norm(self.w)
        self.slots = {k: _prep(v) for k, v in (slots or {}).items()}

    def render(self, rng, m, ctx):
        out = np.empty(m, dtype=object)
        kinds = np.empty(m, np.int8)
        t = rng.choice(len(self.fmts), size=m, p=self.w)
        for k in np.unique(t).tolist():
            idx = np.nonzero(t == k)[0]
            f = self.fmts[k]
            if not self.fields[k]:
                out[idx] = f
            else:
                cols = [slot_vals(self.slots[nm], rng, len(idx), ctx) for nm in self.fields[k]]
                out[idx] = objarr([f.format(*v) for v in zip(*cols)])
            kinds[idx] = self.kinds[k]
        if self.human:
            out = humanise(rng, out, self.human)
        return out, kinds, None


HUM_PRE = [("", 25), ("hey ", 2), ("hi ", 1.5), ("ok ", 1), ("so ", 1), ("quick question: ", 1), ("Question: ", .7),
           ("hello, ", .7), ("pls help: ", .5), ("yo ", .3), ("Hey! ", .5), ("hmm ", .3), ("ok so ", .6), ("Hi! ", .5),
           ("need help - ", .4), ("Q: ", .4), ("random question but ", .4), ("sorry, ", .2)]
HUM_SUF = [("", 18), ("?", 3), (" please", 2), (" pls", 1), (" thanks", 1.5), (" thank you", 1), (" in simple terms", 1),
           (" briefly", 1), (" in detail", 1), (" with examples", 1), (" for a school project", .6),
           (" for my presentation", .5), (" in 3 bullet points", .7), (" asap", .3), (" (short answer)", .5), (" !!", .3),
           (" for beginners", .6), (" - keep it short", .6), (" be honest", .3), (" for my mom", .2),
           (" in under 100 words", .5), (" lol", .3), (". explain like I'm new to this", .3), (" thx", .5),
           (" and why", .4), (", give sources", .3), (" in a table", .3), (" 🙏", .3), (" :)", .3)]
_HP = objarr([x for x, _ in HUM_PRE]); _HPW = norm([w for _, w in HUM_PRE])
_HS = objarr([x for x, _ in HUM_SUF]); _HSW = norm([w for _, w in HUM_SUF])


def humanise(rng, txt, mode):
    """Human variability: casing, trailing punctuation, filler lead-ins and trailing asks."""
    m = len(txt)
    pre = _HP[rng.choice(len(_HP), size=m, p=_HPW)] if mode in ("full", "light") else None
    suf = _HS[rng.choice(len(_HS), size=m, p=_HSW)] if mode == "full" else None
    cs = rng.random(m)
    pu = rng.random(m)
    out = np.empty(m, dtype=object)
    for i in range(m):
        t = txt[i]
        c = cs[i]
        if c < .25:
            t = t[:1].lower() + t[1:]
        elif c < .33:
            t = t.lower()
        elif c < .45:
            t = t[:1].upper() + t[1:]
        p = pu[i]
        if p < .2:
            t = t.rstrip("?.")
        elif p < .32 and t[-1:] not in "?.!":
            t = t + ("?" if p < .27 else ".")
        if pre is not None:
            t = pre[i] + t
        if suf is not None:
            t = t + suf[i]
        out[i] = t
    return out


NEED = NDAYS * CAP


class UBank(Bank):
    """Campaign templates with unique fill: every (day, intent, row) maps to a distinct
    slot tuple through a bijection, so no prompt is ever sent twice."""
    unique = True

    def __init__(self, intents, pre=None, post=None, casual=False):
        super().__init__()
        self.intents = []
        for slots, surfaces, kind, w in intents:
            sl = [_prep(s) for s in slots]
            rad = [len(s) if isinstance(s, np.ndarray) else s[2] - s[1] + 1 for s in sl]
            p, cap = 0, 1
            while cap < NEED:
                cap *= rad[p]
                p += 1
            assert cap < (1 << 42), cap
            a = int(cap * 0.6180339887) | 1
            while np.gcd(a, cap) != 1:
                a += 2
            for sf in surfaces:
                used = {int(f) for _l, f, _s, _c in _FMT.parse(sf) if f is not None}
                assert set(range(p)) <= used, (sf, p)
            self.intents.append(dict(slots=sl, rad=rad, p=p, cap=cap, a=a, surf=surfaces, kind=kind, w=w))
        self.w = norm([it["w"] for it in self.intents])
        self.pre = objarr(pre or [""])
        self.post = objarr(post or [""])
        self.casual = casual

    def render(self, rng, m, ctx):
        d, salt = ctx["d"], ctx["salt"]
        out = np.empty(m, dtype=object)
        kinds = np.empty(m, np.int8)
        vals_all = [None] * m
        it = rng.choice(len(self.intents), size=m, p=self.w)
        for k in range(len(self.intents)):
            idx = np.nonzero(it == k)[0]
            n = len(idx)
            if n == 0:
                continue
            if n >= CAP:
                raise RuntimeError("unique-fill capacity exceeded; raise CAP")
            I = self.intents[k]
            cap = np.uint64(I["cap"])
            ids = np.arange(n, dtype=np.uint64) + np.uint64(d * CAP)
            b = np.uint64((salt * 2654435761 + k * 40503) % I["cap"])
            with np.errstate(over="ignore"):
                x = (ids * np.uint64(I["a"]) + b) % cap
            digs = []
            for r in I["rad"][:I["p"]]:
                digs.append((x % np.uint64(r)).astype(np.int64))
                x = x // np.uint64(r)
            acc = np.full(n, salt % 9973, np.int64)
            for j in range(I["p"] - 1, -1, -1):
                r = I["rad"][j]
                digs[j] = (digs[j] + acc) % r
                acc = (acc * 31 + digs[j] * 7 + 3) % 1000003
            cols = []
            for j, s in enumerate(I["slots"]):
                if j < I["p"]:
                    cols.append(s[digs[j]] if isinstance(s, np.ndarray) else digs[j] + s[1])
                else:
                    cols.append(slot_vals(s, rng, n, ctx))
            si = rng.integers(0, len(I["surf"]), n)
            pr = self.pre[rng.integers(0, len(self.pre), n)]
            po = self.post[rng.integers(0, len(self.post), n)]
            surf = I["surf"]
            rows = list(zip(*cols))
            txt = [pr[i] + surf[si[i]].format(*rows[i]) + po[i] for i in range(n)]
            if self.casual:
                txt = casualise(rng, txt)
            out[idx] = objarr(txt)
            kinds[idx] = I["kind"]
            if ctx.get("want_vals"):
                for i, j in enumerate(idx.tolist()):
                    vals_all[j] = rows[i]
        if ctx.get("want_vals"):
            ctx["_vals"] = vals_all
        return out, kinds, None


_CASUAL = [(" you ", " u "), (" please", " pls"), (" your ", " ur "), ("Explain", "explain"),
           (" because ", " bc "), (" people", " ppl"), ("?", "??"), (" the ", " teh ")]


def casualise(rng, txt):
    low = rng.random(len(txt)) < 0.6
    sub = rng.integers(0, len(_CASUAL), (len(txt), 2))
    subp = rng.random((len(txt), 2)) < 0.35
    out = []
    for i, t in enumerate(txt):
        if low[i]:
            t = t.lower()
        for j in range(2):
            if subp[i, j]:
                a, b = _CASUAL[sub[i, j]]
                t = t.replace(a, b, 1)
        out.append(t)
    return out


class FixedBank(Bank):
    def __init__(self, items, kind):
        super().__init__()
        self.s = objarr([s for s, _ in items])
        self.w = norm([w for _, w in items])
        self.kind = kind

    def render(self, rng, m, ctx):
        return self.s[rng.choice(len(self.s), size=m, p=self.w)], np.full(m, self.kind, np.int8), None


CHOICES = L("""renting vs buying|nuclear energy|electric cars|working from home|homeschooling|a gap year|
living alone|freelancing|moving abroad|an MBA|solar panels|owning a dog|tiny houses|open offices|
a standing desk|leasing a car|index funds|learning to code|a keto diet|studying abroad""".replace("\n", " "))
BASH_TASKS = L("""back up my home folder every night|find the biggest files on disk|rename all .jpeg files to
.jpg|kill a process on port 3000|count lines in all python files|watch a folder for changes|
compress old log files|check if a website is up""".replace("\n", " "))
S = dict(concept=CONCEPTS, concept2=CONCEPTS, thing=THINGS, invention=INVENTIONS, food=FOODS, ailment=AILMENTS,
         product=PRODUCTS, use=USES, person=PEOPLE, city=CITIES, country=COUNTRY_NAMES, choice=CHOICES,
         event=HIST_EVENTS, life_task=LIFE_TASKS, activity=ACTIVITIES, ing=INGREDIENTS, ing2=INGREDIENTS,
         ing3=INGREDIENTS, relation=RELATIONS, situation=SITUATIONS, work_request=WORK_REQUESTS, skill=SKILLS,
         expense=EXPENSES, fitness=FITNESS, emotion=EMOTIONS, weekday=WEEKDAYS, recipient=RECIPIENTS,
         email_topic=EMAIL_TOPICS, tone=TONES, ask=ASKS, job=JOBS, length=LENGTHS, genre=GENRES,
         story_topic=STORY_TOPICS, li_topic=LI_TOPICS, occasion=OCCASIONS, poet=POETS, photo_topic=PHOTO_TOPICS,
         business=BUSINESSES, language=LANGUAGES, phrase=PHRASES, error=ERRORS, howto=CODE_HOWTOS,
         lang=PROG_LANGS, code_pair=CODE_CONCEPT_PAIRS, code_task=CODE_TASKS, regex=REGEX_TARGETS,
         bash_task=BASH_TASKS, math_proc=MATH_PROCS, func=FUNCS, freq=FREQS, calc=CALC_TARGETS,
         phenomenon=PHENOMENA, name=NAMES, name2=NAMES, para=gen_paragraph, spara=gen_short_paragraph,
         sentence=gen_sentence, snippet=gen_snippet, dialog=gen_dialog, review=gen_review, diff=gen_diff,
         n=("int", 2, 14), a=("int", 2, 19), b=("int", 1, 60), c=("int", 20, 250), P=("int", 500, 50000),
         r=("int", 2, 12), k=("int", 2, 6), p=("int", 5, 95), q=("int", 40, 2000), prime=("int", 51, 997))

B_QA = TBank([("what is {concept}", 6), ("What is {concept}?", 4), ("explain {concept}", 3),
              ("explain {concept} like i'm 5", 2), ("how does {thing} work?", 4), ("how does {thing} work", 2),
              ("What's the difference between {concept} and {concept2}?", 2), ("who invented the {invention}", 2),
              ("is {food} healthy", 2), ("is {food} bad for you?", 1), ("what are the symptoms of {ailment}", 2),
              ("how long does {ailment} last", 1), ("best {product} for {use}", 3),
              ("which {product} should I buy for {use}?", 1.5), ("tell me about {person}", 2),
              ("why is {person} famous", 1), ("Tell me about {city}", 1.5), ("fun facts about {city}", 1),
              ("what is the capital of {country}", 1), ("pros and cons of {choice}", 1.5),
              ("what happened during {event}?", 1), ("when did {event} happen", 1),
              ("what language do they speak in {country}", 0.5), ("is {choice} worth it?", 1),
              ("how much does a {product} cost", 1), ("can you explain {concept} with an example", 1),
              ("{concept} vs {concept2}", 1), ("why did {event} happen", 1)], S, K_QA, human="full")
B_ADVICE = TBank([("how do i {life_task}", 6), ("How can I {life_task}?", 3), ("tips for {activity}", 3),
                  ("what can I cook with {ing}, {ing2} and {ing3}?", 3), ("recipe with {ing} and {ing2}", 2),
                  ("give me a {n} day itinerary for {city}", 2), ("plan a {n}-day trip to {city} on a budget", 1.5),
                  ("my {relation} {situation}. what should i do", 2.5),
                  ("how do I ask my boss for {work_request}", 1.5), ("best way to learn {skill} fast", 2),
                  ("is it worth buying a {product} in 2026?", 1), ("how can I save money on {expense}", 1.5),
                  ("workout plan for {fitness}", 1.5), ("how to deal with {emotion}", 1.5),
                  ("I have {n} hours free on {weekday} in {city}, what should I do?", 1),
                  ("how do i get better at {skill}", 1.5), ("what should I pack for {n} days in {city}", 1)], S, K_ADVICE, human="full")
B_WRITE = TBank([("write an email to my {recipient} about {email_topic}", 5),
                 ("Write a {tone} email to my {recipient} asking {ask}", 3),
                 ("write a cover letter for a {job} position", 3), ("write a {length} {genre} about {story_topic}", 4),
                 ("make this sound more {tone}: {sentence}", 2), ("rewrite: {sentence}", 1.5),
                 ("write a linkedin post about {li_topic}", 2), ("write a birthday message for my {relation}", 1.5),
                 ("write a product description for a {product}", 1.5), ("give me {n} name ideas for a {business}", 1.5),
                 ("write a speech for {occasion}", 1.5), ("write a poem about {story_topic} in the style of {poet}", 1.5),
                 ("instagram caption for {photo_topic}", 1.5), ("fix grammar: {sentence}", 2),
                 ("write a {tone} reply to this: {spara}", 1.5), ("write a toast for {occasion}", 0.7),
                 ("rewrite this to sound more professional:\n{spara}", 1.5)], S, K_WRITE, human="full")
B_CODE = TBank([("how do I {howto} in {lang}", 5), ("how to {howto} {lang}", 3),
                ("Why does this throw {error}?\n\n{snippet}", 3), ("fix this code:\n{snippet}", 3),
                ("what does this code do?\n{snippet}", 2), ("What's the difference between {code_pair}?", 2),
                ("write a {lang} function that {code_task}", 3), ("regex to match {regex}", 1.5),
                ("explain this error: {error}", 2), ("{error}", 2), ("convert this to {lang}:\n{snippet}", 1.5),
                ("how do i fix {error}", 2), ("optimize this:\n{snippet}", 1), ("write a bash script to {bash_task}", 1),
                ("what's the time complexity of this?\n{snippet}", 1), ("{snippet}\n\nwhy is this slow", 1)], S, K_CODE, human="light")
B_REASON = TBank([("solve {a}x + {b} = {c}", 3), ("solve {a}x + {b} = {c} step by step", 2),
                  ("Can you explain step by step how to {math_proc}?", 2), ("how do i {math_proc}", 2),
                  ("find the derivative of {func}", 2), ("derivative of {func} step by step", 1.5),
                  ("integrate {func} show steps", 1),
                  ("If I invest ${P} at {r}% interest compounded {freq} for {n} years, how much will I have? Show the steps.", 1.5),
                  ("{name} is {k} times as old as {name2}. In {n} years {name} will be twice as old as {name2}. How old are they now? explain", 1),
                  ("what is {p}% of {q}", 2), ("explain step by step why {phenomenon}", 1.5),
                  ("how do I calculate {calc}? walk me through it", 1.5), ("is {prime} a prime number? explain your reasoning", 1),
                  ("what's the probability of getting exactly {k} heads in {n} coin flips? show work", 1),
                  ("A recipe needs {a} cups of flour for {c} cookies. How much flour for {q} cookies? step by step please", 1),
                  ("why {phenomenon}?", 2)], S, K_REASON, human="full")
B_SUMMARY = TBank([("summarize this:\n\n{para}", 4), ("tl;dr\n{para}", 1.5), ("Summarize the following in 3 bullet points:\n{para}", 2),
                   ("make this shorter: {para}", 2), ("What are the action items from these notes?\n{dialog}", 1.5),
                   ("summarize this email for me: {para}", 1.5), ("can you summarise this meeting\n{dialog}", 1)], S, K_SUMMARY, human="light")
B_TRANSLATE = TBank([("translate to {language}: {sentence}", 4), ('how do you say "{phrase}" in {language}', 3),
                     ("translate this into {language} please\n\n{spara}", 2), ("{language} translation: {phrase}", 1)], S, K_TRANSLATE, human="light")
B_SHORT = FixedBank(SHORT_PROMPTS, K_SHORT)
B_FOLLOW = FixedBank(FOLLOW_PROMPTS, K_FOLLOW)
B_STOCK = FixedBank([(s, 1.0 / (i + 1) ** 0.5) for i, s in enumerate(STOCK_PROMPTS)], K_QA)
B_CHAT = FixedBank([(s, 1.0) for s in CHAT_PROMPTS], K_CHAT)

# ------------------------------------------------------------------ other languages
LANG_BANKS = {}
LANG_BANKS["es"] = TBank([
    ("hola", 4), ("gracias", 2), ("¿qué es {c}?", 4), ("explícame {c} de forma sencilla", 3),
    ("escribe un correo formal a mi {r} sobre {t}", 3), ("¿cómo puedo {a}?", 4), ("receta de {p}", 2),
    ("plan de viaje de {n} días a {city}", 2), ("resuelve paso a paso: {x}x + {y} = {z}", 2),
    ("¿cuál es la diferencia entre {c} y {c2}?", 2), ("escribe un poema sobre {tema}", 1.5),
    ("ayúdame con mi tarea de {m}", 2), ("traduce al inglés: {f}", 2), ("dame ideas para {i}", 1.5),
    ("¿por qué {why}?", 1.5), ("resume este texto: {f} {f2}", 1)], dict(
    c=L("la inflación|el aprendizaje automático|una hipoteca|la fotosíntesis|el blockchain|el PIB|la inteligencia artificial|un agujero negro|el cambio climático|la bolsa de valores|el interés compuesto|la democracia"),
    c2=L("la deflación|la estadística|un préstamo|la respiración celular|una base de datos|el IPC|la robótica|una estrella de neutrones|el efecto invernadero|un fondo indexado"),
    r=L("jefe|profesor|casero|cliente|compañero de trabajo|banco"),
    t=L("un retraso en el pago|mis vacaciones|una reunión|un error en la factura|mi renuncia|una queja"),
    a=L("ahorrar más dinero|dormir mejor|aprender inglés rápido|preparar una entrevista de trabajo|quitar una mancha de vino|dejar de procrastinar|mejorar mi currículum|hacer amigos en otra ciudad"),
    p=L("tortilla de patatas|arepas|paella|empanadas|chilaquiles|flan|ceviche|lentejas"),
    tema=L("el mar|mi abuela|la lluvia|el amor|la ciudad de noche|el otoño"),
    m=L("matemáticas|historia|física|química|biología|economía|filosofía"),
    f=L("El equipo aprobó el presupuesto la semana pasada.|Mañana tengo una reunión importante.|No pude dormir por el ruido.|Necesito cambiar la fecha de mi vuelo.|El pedido llegó roto."),
    f2=L("Nadie sabe por qué.|Fue una sorpresa para todos.|Espero una respuesta pronto.|Gracias por su ayuda."),
    i=L("un cumpleaños infantil|un negocio pequeño|una cena romántica|un fin de semana lluvioso|un regalo para mi madre"),
    why=L("el cielo es azul|sube el precio de la gasolina|el hielo flota|los gatos ronronean|hay inflación"),
    city=CITIES, n=("int", 2, 10), x=("int", 2, 12), y=("int", 1, 40), z=("int", 20, 200)), K_QA, human="case")
LANG_BANKS["pt"] = TBank([
    ("oi", 4), ("obrigado", 2), ("o que é {c}?", 4), ("me explica {c} de um jeito simples", 3),
    ("escreve um email formal para o meu {r} sobre {t}", 3), ("como eu posso {a}?", 4), ("receita de {p}", 2),
    ("roteiro de {n} dias em {city}", 2), ("resolva passo a passo: {x}x + {y} = {z}", 2),
    ("qual a diferença entre {c} e {c2}?", 2), ("me ajuda com a lição de {m}", 2), ("traduz pro inglês: {f}", 2),
    ("por que {why}?", 1.5), ("faz um resumo: {f} {f2}", 1)], dict(
    c=L("inflação|aprendizado de máquina|financiamento imobiliário|fotossíntese|blockchain|PIB|inteligência artificial|buraco negro|mudança climática|bolsa de valores|juros compostos|Tesouro Direto"),
    c2=L("deflação|estatística|empréstimo|respiração celular|banco de dados|IPCA|robótica|CDB|poupança|efeito estufa"),
    r=L("chefe|professor|proprietário|cliente|colega de trabalho|banco"),
    t=L("um atraso no pagamento|minhas férias|uma reunião|um erro na fatura|meu pedido de demissão|uma reclamação"),
    a=L("economizar dinheiro|dormir melhor|aprender inglês rápido|me preparar para uma entrevista|tirar mancha de vinho|parar de procrastinar|melhorar meu currículo|passar no ENEM"),
    p=L("feijoada|pão de queijo|brigadeiro|moqueca|coxinha|bolo de cenoura|farofa|escondidinho"),
    m=L("matemática|história|física|química|biologia|geografia|filosofia"),
    f=L("A equipe aprovou o orçamento na semana passada.|Amanhã tenho uma reunião importante.|Não consegui dormir por causa do barulho.|Preciso remarcar meu voo."),
    f2=L("Ninguém sabe por quê.|Foi uma surpresa.|Aguardo retorno.|Obrigado pela ajuda."),
    why=L("o céu é azul|o dólar sobe|o gelo flutua|os gatos ronronam|a gasolina está cara"),
    city=CITIES, n=("int", 2, 10), x=("int", 2, 12), y=("int", 1, 40), z=("int", 20, 200)), K_QA, human="case")
LANG_BANKS["de"] = TBank([
    ("hallo", 3), ("danke", 1.5), ("was ist {c}?", 4), ("erklär mir {c} einfach", 3),
    ("schreib eine formelle E-Mail an meinen {r} wegen {t}", 3), ("wie kann ich {a}?", 4), ("Rezept für {p}", 2),
    ("Reiseplan für {n} Tage in {city}", 2), ("löse Schritt für Schritt: {x}x + {y} = {z}", 2),
    ("was ist der Unterschied zwischen {c} und {c2}?", 2), ("übersetze ins Englische: {f}", 2),
    ("warum {why}?", 1.5), ("fasse zusammen: {f} {f2}", 1)], dict(
    c=L("Inflation|maschinelles Lernen|eine Hypothek|Photosynthese|Blockchain|das BIP|künstliche Intelligenz|ein schwarzes Loch|der Klimawandel|ein ETF|Zinseszins|die Grundsteuer"),
    c2=L("Deflation|Statistik|ein Kredit|Zellatmung|eine Datenbank|ein Bausparvertrag|Robotik|ein Tagesgeldkonto"),
    r=L("Chef|Vermieter|Professor|Kunden|Kollegen|Steuerberater"),
    t=L("einer verspäteten Zahlung|meines Urlaubs|eines Termins|eines Fehlers in der Rechnung|meiner Kündigung|einer Beschwerde"),
    a=L("Geld sparen|besser schlafen|schnell Englisch lernen|mich auf ein Vorstellungsgespräch vorbereiten|Rotweinflecken entfernen|aufhören zu prokrastinieren|meine Steuererklärung machen"),
    p=L("Käsespätzle|Apfelstrudel|Kartoffelsalat|Gulasch|Rouladen|Zwiebelkuchen|Linseneintopf"),
    f=L("Das Team hat das Budget letzte Woche genehmigt.|Morgen habe ich ein wichtiges Meeting.|Ich konnte wegen des Lärms nicht schlafen.|Ich muss meinen Flug umbuchen."),
    f2=L("Niemand weiß warum.|Das war eine Überraschung.|Ich freue mich auf Ihre Antwort.|Danke für die Hilfe."),
    why=L("der Himmel blau ist|die Preise steigen|Eis schwimmt|die Bahn immer zu spät ist|Katzen schnurren"),
    city=CITIES, n=("int", 2, 10), x=("int", 2, 12), y=("int", 1, 40), z=("int", 20, 200)), K_QA, human="case")
LANG_BANKS["fr"] = TBank([
    ("bonjour", 3), ("merci", 1.5), ("c'est quoi {c} ?", 4), ("explique-moi {c} simplement", 3),
    ("écris un mail formel à mon {r} à propos de {t}", 3), ("comment je peux {a} ?", 4), ("recette de {p}", 2),
    ("itinéraire de {n} jours à {city}", 2), ("résous étape par étape : {x}x + {y} = {z}", 2),
    ("quelle est la différence entre {c} et {c2} ?", 2), ("traduis en anglais : {f}", 2),
    ("pourquoi {why} ?", 1.5), ("résume : {f} {f2}", 1)], dict(
    c=L("l'inflation|l'apprentissage automatique|un prêt immobilier|la photosynthèse|la blockchain|le PIB|l'intelligence artificielle|un trou noir|le réchauffement climatique|un livret A|les intérêts composés"),
    c2=L("la déflation|les statistiques|un crédit|la respiration cellulaire|une base de données|une assurance vie|la robotique"),
    r=L("patron|propriétaire|professeur|client|collègue|banquier"),
    t=L("un retard de paiement|mes congés|un rendez-vous|une erreur sur la facture|ma démission|une réclamation"),
    a=L("économiser de l'argent|mieux dormir|apprendre l'anglais vite|préparer un entretien|enlever une tache de vin|arrêter de procrastiner|améliorer mon CV"),
    p=L("quiche lorraine|ratatouille|crêpes|bœuf bourguignon|tarte tatin|gratin dauphinois"),
    f=L("L'équipe a validé le budget la semaine dernière.|J'ai une réunion importante demain.|Je n'ai pas pu dormir à cause du bruit.|Je dois changer la date de mon vol."),
    f2=L("Personne ne sait pourquoi.|C'était une surprise.|J'attends votre réponse.|Merci pour votre aide."),
    why=L("le ciel est bleu|les prix augmentent|la glace flotte|les chats ronronnent|il y a des grèves"),
    city=CITIES, n=("int", 2, 10), x=("int", 2, 12), y=("int", 1, 40), z=("int", 20, 200)), K_QA, human="case")
LANG_BANKS["ja"] = TBank([
    ("こんにちは", 3), ("ありがとう", 1.5), ("{c}とは何ですか？", 4), ("{c}をわかりやすく説明して", 3),
    ("{r}に{t}についてのメールを書いて", 3), ("{a}にはどうすればいいですか", 4), ("{p}のレシピを教えて", 2),
    ("{city}で{n}日間の旅行プランを作って", 2), ("{x}x + {y} = {z} を途中式も含めて解いて", 2),
    ("{c}と{c2}の違いは？", 2), ("英語に翻訳して：{f}", 2), ("なぜ{why}のですか", 1.5)], dict(
    c=L("インフレ|機械学習|住宅ローン|光合成|ブロックチェーン|GDP|生成AI|ブラックホール|新NISA|複利|円安"),
    c2=L("デフレ|統計学|クレジットカード|呼吸|データベース|iDeCo|ロボット工学|円高"),
    r=L("上司|大家さん|先生|お客様|同僚"),
    t=L("支払いの遅れ|有給休暇|打ち合わせの日程|請求書の間違い|退職|クレーム"),
    a=L("お金を貯める|よく眠る|英語を早く覚える|面接の準備をする|シミを落とす|やる気を出す"),
    p=L("肉じゃが|カレー|親子丼|唐揚げ|味噌汁|お好み焼き"),
    f=L("会議は来週に延期されました。|荷物が壊れて届きました。|明日は大事なプレゼンがあります。|予約を変更したいです。"),
    why=L("空は青い|物価が上がる|氷は水に浮く|猫は喉を鳴らす"),
    city=CITIES, n=("int", 2, 10), x=("int", 2, 12), y=("int", 1, 40), z=("int", 20, 200)), K_QA, human="case")
LANG_BANKS["ko"] = TBank([
    ("안녕", 3), ("고마워", 1.5), ("{c}이 뭐야?", 4), ("{c} 쉽게 설명해줘", 3), ("{a} 방법 알려줘", 4),
    ("{city} {n}일 여행 일정 짜줘", 2), ("{x}x + {y} = {z} 풀이 과정까지 알려줘", 2), ("영어로 번역해줘: {f}", 2)], dict(
    c=L("인플레이션|머신러닝|주택담보대출|광합성|블록체인|GDP|생성형 AI|블랙홀|복리|ETF"),
    a=L("돈 모으는|잠 잘 자는|영어 빨리 배우는|면접 준비하는|자소서 잘 쓰는|다이어트 하는"),
    f=L("회의가 다음 주로 연기되었습니다.|택배가 파손되어 도착했습니다.|내일 중요한 발표가 있어요."),
    city=CITIES, n=("int", 2, 10), x=("int", 2, 12), y=("int", 1, 40), z=("int", 20, 200)), K_QA, human="case")
LANG_BANKS["id"] = TBank([
    ("halo", 3), ("makasih", 1.5), ("apa itu {c}?", 4), ("jelaskan {c} dengan sederhana", 3),
    ("bagaimana cara {a}?", 4), ("resep {p}", 2), ("itinerary {n} hari di {city}", 2),
    ("selesaikan langkah demi langkah: {x}x + {y} = {z}", 2), ("terjemahkan ke bahasa inggris: {f}", 2),
    ("buatkan caption instagram tentang {t}", 1.5)], dict(
    c=L("inflasi|machine learning|KPR|fotosintesis|blockchain|PDB|AI|lubang hitam|bunga majemuk|reksadana"),
    a=L("menabung|tidur lebih nyenyak|belajar bahasa inggris cepat|persiapan wawancara kerja|menghilangkan noda|berhenti menunda-nunda"),
    p=L("nasi goreng|rendang|sate ayam|soto betawi|gado-gado|martabak manis"),
    f=L("Rapat ditunda sampai minggu depan.|Paket saya datang dalam keadaan rusak.|Besok saya ada presentasi penting."),
    t=L("liburan ke Bali|kopi pagi|wisuda|hari ulang tahun"),
    city=CITIES, n=("int", 2, 10), x=("int", 2, 12), y=("int", 1, 40), z=("int", 20, 200)), K_QA, human="case")
LANG_BANKS["it"] = TBank([
    ("ciao", 3), ("grazie", 1.5), ("cos'è {c}?", 4), ("spiegami {c} in modo semplice", 3), ("come posso {a}?", 4),
    ("ricetta della {p}", 2), ("itinerario di {n} giorni a {city}", 2), ("risolvi passo passo: {x}x + {y} = {z}", 2),
    ("traduci in inglese: {f}", 2)], dict(
    c=L("l'inflazione|il machine learning|un mutuo|la fotosintesi|la blockchain|il PIL|l'intelligenza artificiale|un buco nero|l'interesse composto"),
    a=L("risparmiare soldi|dormire meglio|imparare l'inglese velocemente|preparare un colloquio|togliere una macchia di vino|smettere di procrastinare"),
    p=L("carbonara|parmigiana|lasagna|tiramisù|pasta e fagioli|frittata"),
    f=L("La riunione è stata rimandata alla prossima settimana.|Il pacco è arrivato rotto.|Domani ho una presentazione importante."),
    city=CITIES, n=("int", 2, 10), x=("int", 2, 12), y=("int", 1, 40), z=("int", 20, 200)), K_QA, human="case")
LANG_BANKS["tr"] = TBank([
    ("merhaba", 3), ("teşekkürler", 1.5), ("{c} nedir?", 4), ("{c} basitçe anlatır mısın", 3), ("nasıl {a}?", 4),
    ("{p} tarifi", 2), ("{city} için {n} günlük gezi planı", 2), ("adım adım çöz: {x}x + {y} = {z}", 2),
    ("ingilizceye çevir: {f}", 2)], dict(
    c=L("enflasyon|makine öğrenmesi|konut kredisi|fotosentez|blokzincir|GSYH|yapay zeka|kara delik|bileşik faiz"),
    a=L("para biriktirebilirim|daha iyi uyuyabilirim|hızlı İngilizce öğrenebilirim|iş görüşmesine hazırlanabilirim|erteleme alışkanlığını bırakabilirim"),
    p=L("mercimek çorbası|karnıyarık|menemen|baklava|mantı|lahmacun"),
    f=L("Toplantı gelecek haftaya ertelendi.|Kargom hasarlı geldi.|Yarın önemli bir sunumum var."),
    city=CITIES, n=("int", 2, 10), x=("int", 2, 12), y=("int", 1, 40), z=("int", 20, 200)), K_QA, human="case")
LANG_LIST = ["en"] + sorted(LANG_BANKS)
LANG_ID = {l: i for i, l in enumerate(LANG_LIST)}
LANG_BANK_BY_ID = [None] + [LANG_BANKS[l] for l in LANG_LIST[1:]]

# ------------------------------------------------------------------ system prompts
CUSTOM_SYS = [sys_id(s) for s in [
    "You are a helpful assistant.",
    "You are a helpful assistant. Answer concisely.",
    "Always answer in British English and keep answers under 200 words.",
    "I am a nurse. Keep medical explanations precise and cite guidelines when possible.",
    "You are a friendly tutor for a high-school student. Do not just give answers; explain.",
    "Respond like a pirate.",
    "I'm a software developer who prefers Python. Skip the basics.",
    "Be brutally honest and skip the pleasantries.",
    "You are my personal writing assistant. Match a warm, informal tone.",
    "Format every answer in Markdown with headings.",
    "You are a helpful coding assistant.",
    "Answer in the same language as the question.",
]]
SYS_HELPFUL = CUSTOM_SYS[0]


# ------------------------------------------------------------------ developer applications
def _app(sys_text, items, kind, slots=None):
    return (sys_text, TBank(items, {**S, **(slots or {})}, kind))


TICKET_SUBJ = L("""Can't log in|Refund request|Charged twice|Package not delivered|App crashes on start|
Change of address|Invoice missing VAT number|Password reset not working|Cancel my plan|
Wrong item received|Discount code invalid|Slow website""".replace("\n", " "))
FEATURES = L("""waterproof|lightweight|USB-C charging|two-year warranty|recycled materials|
dishwasher safe|foldable|noise reduction|12-hour battery|machine washable|solar powered|
ergonomic grip|vegan leather|anti-slip base|smart app control""".replace("\n", " "))
PROD_ADJ = L("compact|premium|eco-friendly|portable|vintage-style|minimalist|heavy-duty|smart|handmade|kids'")
SQL_QS = L("""how many orders did we get last month|top 10 customers by revenue this year|average delivery
time per region|which products were never ordered|monthly active users for the last 6 months|
refund rate by payment method|users who signed up but never purchased|revenue by country and
quarter|churned subscribers in April|most common support ticket category per week""".replace("\n", " "))
QA_QS = L("""What is the refund window?|Who approved the budget?|When is the deadline?|What changed in the
policy?|How many people attended?|Why was the project delayed?|What does the contract say about
termination?|Which team is responsible?""".replace("\n", " "))
MATH_QS = L("""how do I solve 3x + 7 = 22|what is 15% of 240|why is a negative times a negative positive|
how do I find the area of a circle with radius 6|simplify (2x^2 * 3x^3)|what is the slope between
(2,3) and (6,11)|how do fractions divide|what is the square root of 144 and why|how do I convert
0.375 to a fraction|solve x^2 - 5x + 6 = 0""".replace("\n", " "))
COMPANY_WORDS = L("""Bright|Lane|Nimbus|Harbor|Quill|Pixel|Atlas|Cedar|Ember|Orbit|North|Kettle|Juniper|
Lumen|Sprout|Vector|Copper|Maple|Tide|Summit|Fable|Beacon|Cobalt|Meadow|Prism|Ridge|Willow|
Anchor|Falcon|Hollow|Ivory|Mosaic|Pepper|Saffron|Thistle|Zephyr""".replace("\n", " "))
TLDS = ["com", "io", "co", "dev", "ai", "app", "net", "de", "co.uk", "in", "com.br", "fr", "nl"]


def _company(rng):
    w = rng.choice(COMPANY_WORDS, 2, replace=False)
    return w[0] + w[1]


_crng = np.random.default_rng(99)
DEV_APPS = []
for _i in range(4):
    co = _company(_crng)
    DEV_APPS.append(_app(f"You are a sentiment classifier for {co} product reviews. Reply with exactly one word: positive, negative or neutral.",
                         ["Review: {review}", "Classify: {review}", "{review}"], K_EXTRACT))
    DEV_APPS.append(_app(f"You triage support tickets for {co}. Classify the ticket into one of: billing, technical, account, shipping, other. Respond with JSON containing the fields category and urgency.",
                         ["Ticket #{tid}\nSubject: {tsubj}\nBody: {para}"], K_EXTRACT, dict(tid=("int", 10000, 99999), tsubj=TICKET_SUBJ)))
    DEV_APPS.append(_app(f"You write concise, persuasive e-commerce product descriptions for {co}. Never invent specifications.",
                         ["Product: {padj} {product}\nFeatures: {feat}, {feat2}, {feat3}\nTone: {tone}\nLength: {wl} words"],
                         K_WRITE, dict(padj=PROD_ADJ, feat=FEATURES, feat2=FEATURES, feat3=FEATURES, wl=("int", 40, 150))))
    DEV_APPS.append(_app("Extract structured data from the resume. Output JSON with keys name, email, skills, years_experience, last_title.",
                         ["{name} {lname}\n{job} at {co1} ({y1}-{y2})\n{job2} at {co2} ({y0}-{y1})\nSkills: {skill}, {skill2}, {skill3}\nContact: {name}.{lname}@example.com"],
                         K_EXTRACT, dict(lname=LASTNAMES, job2=JOBS, co1=COMPANY_WORDS,
                                         co2=COMPANY_WORDS, y0=("int", 2010, 2016), y1=("int", 2017, 2021), y2=("int", 2022, 2026),
                                         skill2=SKILLS, skill3=SKILLS)))
    DEV_APPS.append(_app(f"You translate analytics questions into PostgreSQL for the {co} warehouse. Tables: orders(id, customer_id, total, created_at, country), customers(id, name, signup_date, plan), refunds(id, order_id, amount, method). Return only SQL.",
                         ["{sqlq}", "SQL for: {sqlq}", "{sqlq}?"], K_CODE, dict(sqlq=SQL_QS)))
    DEV_APPS.append(_app("Summarize meeting transcripts into decisions and action items with owners.",
                         ["Transcript:\n{dialog}", "Meeting notes ({weekday}):\n{dialog}"], K_SUMMARY))
    DEV_APPS.append(_app(f"Draft a polite reply to the customer on behalf of {co} support. Sign as 'The {co} team'.",
                         ["Customer email:\n{para}\n\nKey points to include: {tsubj}"], K_WRITE, dict(tsubj=TICKET_SUBJ)))
    DEV_APPS.append(_app("Answer the question using only the provided context. If the answer is not in the context, say you don't know.",
                         ["Context:\n{para}\n\nQuestion: {qaq}"], K_QA, dict(qaq=QA_QS)))
    DEV_APPS.append(_app("You are a senior engineer reviewing pull requests. Be concise; list concrete issues only.",
                         ["Review this diff:\n{diff}"], K_CODE))
    DEV_APPS.append(_app(f"Translate the user's text into {['German', 'Spanish', 'Japanese', 'French'][_i]}. Preserve formatting and placeholders.",
                         ["{sentence}", "{sentence} {sentence}", "{spara}"], K_TRANSLATE))
    DEV_APPS.append(_app(f"You are {co} Tutor, a patient math tutor for middle-school students. Explain every solution step by step and end with the final answer in bold.",
                         ["Student question: {mq}", "{mq}", "Student ({grade}th grade) asks: {mq}"], K_REASON,
                         dict(mq=MATH_QS, grade=("int", 6, 9))))
    DEV_APPS.append(_app("Extract up to 5 keywords from the text. Return a comma-separated list.",
                         ["{para}", "Text: {para}"], K_EXTRACT))
DEV_APP_SYS = [sys_id(a[0]) for a in DEV_APPS]


class DevAppBank(Bank):
    def render(self, rng, m, ctx):
        app = ctx["pop"].extra["app"][ctx["acct"]]
        out = np.empty(m, dtype=object)
        kinds = np.empty(m, np.int8)
        sysv = np.empty(m, np.int64)
        for a in np.unique(app).tolist():
            idx = np.nonzero(app == a)[0]
            o, k, _ = DEV_APPS[a][1].render(rng, len(idx), ctx)
            out[idx] = o
            kinds[idx] = k
            sysv[idx] = DEV_APP_SYS[a]
        return out, kinds, sysv


B_DEVAPP = DevAppBank()


# ------------------------------------------------------------------ campaign intents
KK = L("""we are both knights|at least one of us is a knave|exactly one of us is a knight|the other
islander is a knave|the other islander and I are the same type|if I am a knight then the other
islander is a knave|neither of us is a knight|the other islander would say that I am a knave""".replace("\n", " "))
IS = {
    "profit": [NAMES, BUSINESSES, CITIES, WEEKDAYS, ("int", 12, 97), ITEMS, ("int", 2, 49), ("int", 5, 60), ITEMS,
               ("int", 3, 80), ("int", 150, 2400)],
    "travel": [CITIES, CITIES, ("int", 5, 11), ("int", 0, 5), ("int", 60, 140), ("int", 6, 12), ("int", 70, 180),
               ("int", 150, 900)],
    "phenom": [PHENOMENA, AUDIENCES, ITEMS, CITIES],
    "history": [HIST_EVENTS, ASPECTS, REGIONS, ("int", 3, 9), AUDIENCES],
    "code": [CODE_TASKS, PROG_LANGS, CONSTRAINTS, INPUT_SIZES, AUDIENCES],
    "econ": [COUNTRY_NAMES, RATE_STEPS, ECON_CONDITIONS, ECON_VARS, HORIZONS, ("int", 2, 14)],
    "decision": [PROFESSIONS, CITIES, DECISIONS, ("int", 5, 120)],
    "logic": [NAMES, NAMES, NAMES, KK, KK],
    "prob": [("int", 3, 20), COLOURS, ("int", 3, 20), COLOURS, ("int", 2, 5), CONTAINERS, REPLACE],
    "physics": [OBJECTS, ("int", 1, 40), ("int", 10, 60), ("int", 2, 30), FRICTION],
    "compare": [COMPARE_PAIRS, ASPECTS2, AUDIENCES, CITIES],
    "policy": [CITIES, POLICIES, STAKEHOLDERS, ("int", 2, 10), ("int", 3, 7)],
}


def U(spec, pre=None, post=None, casual=False):
    return UBank([(IS[k], surf, kind, w) for k, surf, kind, w in spec], pre, post, casual)


# Campaign 1 (bulk-dc): fixed instruction templates, explicit step-by-step
B_BULK = U([
    ("profit", ["Solve the following problem step by step, showing every intermediate calculation.\n\n{0} runs a {1} in {2}. On {3} they sold {4} {5} at ${6} each and {7} {8} at ${9} each. Their costs for the day were ${10}. What was the profit, and what was the profit margin as a percentage of revenue? Explain each step before giving the final answer."], K_REASON, 1),
    ("travel", ["Solve step by step: A train leaves {0} at {2}:{3}0 travelling at {4} km/h toward {1}. Another train leaves {1} at {5}:{3}5 travelling toward {0} at {6} km/h. The two cities are {7} km apart. At what time do the trains meet, and how far from {0}? Show your reasoning at each step."], K_REASON, 1),
    ("phenom", ["Explain step by step why {0}. Start from first principles, number each causal step, use an analogy involving {2}, and finish with a one-sentence summary suitable for {1} living in {3}."], K_REASON, 1),
    ("history", ["Analyse {0} with a focus on {1} in {2}. Reason step by step through at least {3} causal links, then summarise the argument for {4}."], K_REASON, 1),
    ("code", ["Write a {1} function that {0} {2}, for inputs {3}. Before writing any code, reason step by step about the algorithm and its complexity, then give the implementation and explain it to {4}."], K_CODE, 1),
    ("econ", ["Suppose the central bank of {0} raises interest rates by {1} while {2} and inflation is running at {5}%. What happens to {3} {4}? Reason step by step through each transmission channel before giving your conclusion."], K_REASON, 1),
    ("decision", ["A {0} in {1} is deciding whether to {2}. Their available budget is ${3},000. Think step by step through the costs, risks and benefits, quantify where you can, then recommend one option."], K_REASON, 1),
    ("logic", ["{2} visits an island where knights always tell the truth and knaves always lie, and meets {0} and {1}. {0} says: \"{3}.\" {1} says: \"{4}.\" Determine what {0} and {1} are. Reason step by step, checking every case."], K_REASON, 1),
    ("prob", ["A {5} contains {0} {1} marbles and {2} {3} marbles. {4} marbles are drawn at random {6}. What is the probability that all the drawn marbles have the same colour? Show each step of the calculation."], K_REASON, 1),
    ("physics", ["A {0} of mass {1} kg slides down a {2}-degree incline that is {3} m long. The coefficient of kinetic friction is {4}. Starting from rest, how fast is it moving at the bottom and how long does the slide take? Use g = 9.81 m/s^2 and show each step."], K_REASON, 1),
    ("compare", ["Compare {0} with respect to {1}. Reason step by step through the main considerations, give a verdict, and then explain it for {2} using an example set in {3}.",
                 "Write a detailed, balanced analysis of {0} in terms of {1}, aimed at {2}. Use a concrete example from {3}."], K_REASON, 1),
    ("policy", ["Should {0} {1}? Weigh the arguments step by step, paying special attention to {2}, over a {3}-year horizon. Give exactly {4} numbered reasoning steps followed by a recommendation."], K_REASON, 1),
])

# Campaign 2 (hydra): paraphrased bodies x lead-ins x reasoning requests
HYDRA_PRE = ["", "", "", "Quick question. ", "I'm preparing for an exam. ", "Help me understand something. ",
             "Could you help with this? ", "I've been stuck on this for a while. ", "For a study group I'm running: ",
             "Hi! ", "Homework check: ", "Curious about this one. "]
HYDRA_POST = [" Please reason step by step.", " Walk me through your reasoning one step at a time.",
              " Show your thinking before the final answer.", " Break it down into clear steps.",
              " Lay out each step of your reasoning, then give the answer.", " Explain how you get there, step by step.",
              " Think it through carefully and show every step.", " Don't skip steps, I want to see the full chain of reasoning.",
              " Go step by step please.", " I need the reasoning, not just the answer.", "", " Explain your thinking."]
B_HYDRA = U([
    ("profit", ["{0} runs a {1} in {2}. On {3} they sold {4} {5} at ${6} each and {7} {8} at ${9} each, and the day's costs came to ${10}. What was the profit margin?",
                "Here's a problem: a {1} in {2} (owner: {0}) sold {4} {5} priced at ${6} and {7} {8} priced at ${9} last {3}. Costs were ${10}. Find the profit and the margin.",
                "My friend {0} has a {1} in {2}. Last {3}: {4} {5} sold at ${6}, {7} {8} sold at ${9}, expenses ${10}. How much profit is that, and what margin?"], K_REASON, 1),
    ("phenom", ["Why is it that {0}? I'd like an explanation that {1} could follow, maybe with an analogy about {2}. (I'm in {3}, if that matters.)",
                "Can you explain why {0}? Pretend you're talking to {1}, and use {2} as an example. Asking from {3}.",
                "I never understood why {0}. Explain it for {1}; an analogy with {2} would help. Greetings from {3}."], K_REASON, 1),
    ("code", ["I need a {1} function that {0}, {2}, for inputs {3}. How should I approach it? Explain it like you would to {4}.",
              "How would you write something in {1} that {0} ({2})? Inputs are {3}. Pitch the explanation at {4}.",
              "Task: in {1}, implement a routine that {0}. Constraint: {2}. Inputs: {3}. Audience for the explanation: {4}."], K_CODE, 1),
    ("econ", ["If {0}'s central bank hikes rates by {1} while {2} (inflation {5}%), what would happen to {3} {4}?",
              "Say the central bank in {0} raised rates by {1} with inflation at {5}%, and meanwhile {2}. What's the effect on {3} {4}?",
              "Scenario: {0}, inflation {5}%, rate hike of {1}, and {2}. Predict {3} {4}."], K_REASON, 1),
    ("decision", ["A {0} I know in {1} wants to {2} and has about ${3}k to spend. Is it a good idea?",
                  "Should a {0} based in {1} {2}? Budget is roughly ${3},000.",
                  "Imagine you're advising a {0} in {1} who is thinking about whether to {2} with ${3}k available. What do you recommend?"], K_REASON, 1),
    ("prob", ["There's a {5} with {0} {1} and {2} {3} marbles. If I draw {4} {6}, what's the chance they're all the same colour?",
              "Probability question: {0} {1} marbles and {2} {3} marbles in a {5}; draw {4} {6}. P(all same colour)?",
              "Suppose a {5} holds {0} {1} and {2} {3} marbles and you pull out {4} of them {6}. How likely is it that every marble drawn is the same colour?"], K_REASON, 1),
    ("physics", ["A {0} weighing {1} kg slides {3} m down a {2}-degree slope (friction coefficient {4}). Starting from rest, what's its speed at the bottom?",
                 "Physics problem: {1} kg {0}, incline of {2} degrees, length {3} m, kinetic friction {4}. Find the final speed and the time taken.",
                 "If a {0} of {1} kg starts at rest at the top of a {3} m ramp inclined at {2} degrees with mu = {4}, how fast does it reach the bottom?"], K_REASON, 1),
    ("compare", ["How do {0} compare in terms of {1}? Explain for {2}, with an example from {3}.",
                 "Which is better with regard to {1}: {0}? Imagine you're explaining to {2} in {3}.",
                 "Give me a comparison of {0} focusing on {1}. Make it understandable for {2} and use {3} as the example."], K_REASON, 1),
    ("history", ["What was the {1} of {0} in {2}? Trace about {3} causes and effects and explain it to {4}.",
                 "How did {0} affect {2}, particularly regarding {1}? Around {3} causal links, aimed at {4}.",
                 "Looking at {2}: what did {0} mean for {1}? Give {3} linked causes and pitch it to {4}."], K_REASON, 1),
], HYDRA_PRE, HYDRA_POST)

# Campaign 3 (low-and-slow): academic register
B_LOWSLOW = U([
    ("history", ["For a seminar paper on {0}, I want to understand its {1} in {2}. Please identify {3} causal mechanisms and explain how each follows from the previous one, then summarise for {4}."], K_REASON, 1),
    ("econ", ["Consider a monetary tightening in {0}: a rise of {1} while {2}, with inflation at {5}%. Derive the expected effect on {3} {4}, stating every assumption and each inferential step explicitly."], K_REASON, 1),
    ("policy", ["Evaluate the proposal that {0} should {1}. Structure your answer as {4} explicit reasoning steps over a {3}-year horizon, giving particular weight to {2}, and state your conclusion last."], K_REASON, 1),
    ("code", ["Design an algorithm in {1} that {0} {2} for inputs {3}. First derive the approach and its complexity step by step, then provide the code, then explain the proof of correctness to {4}."], K_CODE, 1),
    ("physics", ["Derive, step by step, the speed at the bottom of a {3} m incline at {2} degrees for a {1} kg {0} with kinetic friction coefficient {4}, starting from rest. State each physical principle used."], K_REASON, 1),
    ("logic", ["Knights always tell the truth and knaves always lie. {0} says \"{3}\" and {1} says \"{4}\". {2} must work out who is who. Give a complete case analysis, one step at a time."], K_REASON, 1),
    ("compare", ["Provide a rigorous comparison of {0} with respect to {1}. Proceed step by step from first principles, then illustrate the conclusion for {2} with a case from {3}."], K_REASON, 1),
    ("decision", ["Model the decision of a {0} in {1} who is considering whether to {2} with a budget of ${3},000. Reason step by step through expected costs and benefits and conclude with a recommendation."], K_REASON, 1),
], ["", "", "", "Dear assistant, ", "Question for my thesis: ", "Research question: ", "Good morning. "],
    ["", " Please make every intermediate step explicit.", " Present your reasoning as a numbered chain of inferences before concluding.",
     " Justify each inference explicitly.", " Reason carefully and show all intermediate steps."])

# Campaign 5 (relay): exam style
B_RELAY = U([
    ("profit", ["[Q] {0}'s {1} in {2} sold {4} {5} at ${6} and {7} {8} at ${9} on {3}; costs ${10}. Find profit and margin."], K_REASON, 1),
    ("travel", ["[Q] Train A leaves {0} at {2}:{3}0 at {4} km/h; train B leaves {1} at {5}:{3}5 at {6} km/h toward A. Distance {7} km. When and where do they meet?"], K_REASON, 1),
    ("prob", ["[Q] {5}: {0} {1} marbles, {2} {3} marbles. Draw {4} {6}. P(all same colour)?"], K_REASON, 1),
    ("physics", ["[Q] {0}, m = {1} kg, incline {2} deg, L = {3} m, mu_k = {4}, from rest. Find v at bottom and time."], K_REASON, 1),
    ("code", ["[Q] {1}: write a function that {0} ({2}); inputs {3}. Explain for {4}."], K_CODE, 1),
    ("logic", ["[Q] Knights/knaves. {0}: \"{3}.\" {1}: \"{4}.\" Identify both. (asked by {2})"], K_REASON, 1),
    ("econ", ["[Q] {0}: policy rate +{1}; CPI {5}%; context: {2}. Effect on {3} {4}?"], K_REASON, 1),
], None, ["\n[Requirements] Detailed chain of reasoning, then the final answer on its own line.",
          "\n[Requirements] Think step by step. Final answer last.",
          "\n[Format] reasoning steps 1..n, then ANSWER:"])

# Campaign 6 (mobile-farm): casual, consumer-looking
B_FARM = U([
    ("phenom", ["why does it happen that {0}? im trying to explain it to {1} in {3}, maybe use {2} as an example",
                "ok so why {0}? need to explain to {1} (were in {3}), use {2} or something as example"], K_REASON, 1),
    ("profit", ["{0} has a {1} in {2}, sold {4} {5} at ${6} and {7} {8} at ${9} on {3}, costs were ${10}. whats the profit margin",
                "if a {1} sells {4} {5} for ${6} each and {7} {8} for ${9} each and spends ${10}, whats the margin? its for {0} in {2} ({3})"], K_REASON, 1),
    ("prob", ["{0} {1} marbles and {2} {3} marbles in a {5}, pick {4} {6}. chance theyre all the same colour?"], K_REASON, 1),
    ("history", ["what did {0} do to {2} in terms of {1}? like {3} main causes, explain like im {4}"], K_REASON, 1),
    ("decision", ["my uncle is a {0} in {1} and wants to {2}, he has like ${3}k. good idea or not?"], K_REASON, 1),
    ("physics", ["{1}kg {0} slides down {2} degree ramp {3}m long friction {4}, how fast at the bottom"], K_REASON, 1),
], ["", "", "hey ", "ok so ", "quick q ", "yo ", "hi, ", "help "],
    [" pls explain step by step", " show ur working", " explain each step", " step by step thx", "",
     " can u walk me thru it", " explain how u got it", " step by step"], casual=True)

# Campaign 7 (aged-takeover): polite, first turn of a multi-turn harvest
B_AGED = U([
    ("compare", ["I'd love your perspective: how do {0} compare on {1}? Please reason it through step by step and give a verdict, then explain it for {2} with an example from {3}."], K_REASON, 1),
    ("econ", ["Could you think through what happens to {3} {4} if the central bank of {0} raises rates by {1} while {2} and inflation sits at {5}%? Step by step, please."], K_REASON, 1),
    ("code", ["Can you help me write a {1} function that {0} {2}, for inputs {3}? Please reason about the approach step by step first, then give code, and explain it for {4}."], K_CODE, 1),
    ("physics", ["I'm revising mechanics. A {1} kg {0} slides down a {3} m ramp at {2} degrees with friction coefficient {4}, from rest. Could you solve it step by step?"], K_REASON, 1),
    ("policy", ["Do you think {0} should {1}? Please reason step by step in {4} points over {3} years, with special attention to {2}."], K_REASON, 1),
    ("phenom", ["Could you explain step by step why {0}? Use an analogy with {2} and end with a summary for {1} from {3}."], K_REASON, 1),
    ("decision", ["A {0} in {1} asked me whether to {2} with ${3}k. Could you reason through it step by step and recommend something?"], K_REASON, 1),
])
B_AGED_FOLLOW = FixedBank([("Now check each step of your solution for errors and correct any mistakes.", 3),
                           ("Give an alternative approach and compare the two.", 2),
                           ("Summarize the final answer in one line.", 1.5),
                           ("Which step in your reasoning is the weakest? Strengthen it.", 2),
                           ("Explain the same reasoning to a complete beginner.", 1.5),
                           ("Are there any assumptions you made that could be wrong? Revise if needed.", 1.5)], K_REASON)

# Campaign 4 (agentic): task bank; episodes built by AgentBank
B_AGENT_TASK = UBank([([METRICS, ENTITIES, CITIES, ("int", 2016, 2025), CITIES],
                       ["Determine the {0} for {1} in {2} in {3} and compare it with {4}.",
                        "Research how the {0} of {1} in {2} changed since {3}, and benchmark it against {4}.",
                        "Find the latest {0} figure for {1} in {2} (baseline year {3}) and explain the gap to {4}."], K_AGENT, 1)])
AGENT_C_SYS = [sys_id(s) for s in [
    'You are an autonomous research agent. You have access to the following tools:\n[{"name": "web_search", "description": "Search the web and return the top results", "parameters": {"query": "string"}}, {"name": "fetch_url", "description": "Fetch the text of a web page", "parameters": {"url": "string"}}, {"name": "calculator", "description": "Evaluate an arithmetic expression", "parameters": {"expression": "string"}}, {"name": "python", "description": "Run Python code and return stdout", "parameters": {"code": "string"}}]\nUse the format:\nThought: reason step by step about what to do next\nAction: tool_name[input]\nObservation: the tool result\n... (repeat)\nThought: I now know the final answer\nFinal Answer: a complete answer with all reasoning steps.',
    'You are ResearchBot. Tools: web_search(query), fetch_url(url), calculator(expression), python(code).\nAlways think step by step before each action. Respond with exactly one Thought and one Action per turn, or a Final Answer that restates your full reasoning.',
    'SYSTEM: multi-tool agent v3\nTOOLS = {"web_search": {"args": ["query"]}, "fetch_url": {"args": ["url"]}, "calculator": {"args": ["expression"]}}\nProtocol: Thought -> Action -> Observation loop. Explain reasoning explicitly at every step. Finish with "Final Answer:" and a detailed step-by-step justification.',
]]
SUPPORT_SYS = [sys_id(f'You are the customer support agent for {c}. Tools available: lookup_order(order_id), track_shipment(tracking_id), issue_refund(order_id, amount), create_ticket(summary, priority), check_inventory(sku). Reply with a single JSON tool call, or with the final message to the customer when you are done.')
               for c in ("Parcelly", "BrightCart", "Homewise", "Trailgear", "Nook & Co", "Fernwood Market")]
CUSTOMER_MSGS = TBank([("Hi, my order #{o} hasn't arrived yet, it's been {k} days.", 3),
                       ("I was charged twice for order {o}", 2), ("Can I change the shipping address for order {o}?", 2),
                       ("Do you have the {product} in stock in {colour}?", 2), ("I want to return the {product} I bought last week", 2),
                       ("where is my package?? tracking {o}", 1.5), ("The {product} arrived damaged, order {o}. What now?", 1.5)],
                      dict(o=("int", 100000, 999999), k=("int", 3, 21), product=PRODUCTS, colour=COLOURS), K_AGENT)
THOUGHTS = [["I need to find the figure for the first city.", "Let me search for the most recent data.", "I should start from an official source."],
            ["The first source looks relevant; I should read it.", "I should verify this number in the full report."],
            ["Now I need the comparable figure for the second city.", "Next, the same metric for the comparison city."],
            ["Now I can compute the difference.", "Let me compute the gap between the two figures."],
            ["Let me double-check the arithmetic with Python.", "The sources disagree slightly; I will recompute the change."]]
SITES = ["statistics-portal.org", "citydata.net", "open-data-hub.eu", "worldindicators.info", "urbanmetrics.com", "gov-stats.example"]


class AgentBank(Bank):
    """Multi-step tool-use episodes; each session of the account is one episode and the
    prompt of step j carries the transcript of steps < j (observations fed back)."""

    def __init__(self, style):
        super().__init__()
        self.style = style

    def render(self, rng, m, ctx):
        sess, pos, nreq = ctx["sess"], ctx["pos"], ctx["nreq"]
        acct = ctx["acct"]
        us, first, inv = np.unique(sess, return_index=True, return_inverse=True)
        ne = len(us)
        c2 = dict(ctx)
        c2["want_vals"] = True
        if self.style == "react":
            tasks, _, _ = B_AGENT_TASK.render(rng, ne, c2)
            vals = c2["_vals"]
            sysids = np.array(AGENT_C_SYS)[ctx["pop"].extra["agent_sys"][acct]]
        else:
            tasks, _, _ = CUSTOMER_MSGS.render(rng, ne, c2)
            vals = None
            sysids = np.array(SUPPORT_SYS)[ctx["pop"].extra["agent_sys"][acct]]
        maxpos = np.zeros(ne, np.int64)
        np.maximum.at(maxpos, inv, pos)
        steps = []
        for e in range(ne):
            steps.append(self._steps(rng, int(maxpos[e]) + 1, vals[e] if vals else None, tasks[e]))
        out = np.empty(m, dtype=object)
        kinds = np.full(m, K_AGENT, np.int8)
        for i in range(m):
            e = inv[i]
            j = int(pos[i])
            last = j == int(nreq[i]) - 1 and j > 0
            if self.style == "react":
                head = f"Task: {tasks[e]}\n\n"
                body = "".join(steps[e][:j])
                tail = ("Thought: I now have enough information.\nWrite the Final Answer, showing your complete step-by-step reasoning and citing the observations used."
                        if last else ("Begin." if j == 0 else ""))
            else:
                head = f"Customer message: {tasks[e]}\n\n"
                body = "".join(steps[e][:j])
                tail = "Compose the final reply to the customer." if last else ""
            out[i] = head + body + tail
            if last:
                kinds[i] = K_AGENT_FINAL
        return out, kinds, sysids

    def _steps(self, rng, n, v, task):
        out = []
        if self.style == "react":
            metric, ent, c1, yr, c2 = v
            for j in range(n):
                num = rng.uniform(3, 900)
                site = SITES[rng.integers(len(SITES))]
                kind = j % 5
                if kind == 0:
                    act = f"web_search[{metric} {ent} {c1} {yr}]"
                    obs = f"[1] {c1} {metric} report {yr} ({site}) - figure quoted: {num:.1f}. [2] Regional overview of {ent}, updated {int(yr) + 1}."
                elif kind == 1:
                    act = f"fetch_url[https://{site}/{c1.lower().replace(' ', '-')}/{metric.replace(' ', '-')}]"
                    obs = f"...in {yr} the {metric} for {ent} in {c1} stood at {num:.1f}, up {rng.uniform(1, 15):.1f}% on the previous year..."
                elif kind == 2:
                    act = f"web_search[{metric} {ent} {c2} {yr}]"
                    obs = f"[1] {c2} annual statistics: {metric} {num * rng.uniform(.6, 1.4):.1f} ({site}). [2] News: {ent} in {c2} expand."
                elif kind == 3:
                    a, b = rng.uniform(10, 900, 2)
                    act = f"calculator[{a:.1f} - {b:.1f}]"
                    obs = f"{a - b:.2f}"
                else:
                    act = f"python[print(round(({num:.1f} / {rng.uniform(5, 90):.1f} - 1) * 100, 2))]"
                    obs = f"{rng.uniform(-60, 300):.2f}"
                th = THOUGHTS[kind][rng.integers(len(THOUGHTS[kind]))]
                out.append(f"Thought: {th}\nAction: {act}\nObservation: {obs}\n\n")
        else:
            for j in range(n):
                o = int(rng.integers(100000, 999999))
                k = j % 4
                if k == 0:
                    call = '{"tool": "lookup_order", "args": {"order_id": "%d"}}' % o
                    res = '{"status": "%s", "carrier": "%s", "eta": "2026-05-%02d"}' % (
                        ["in_transit", "delivered", "processing", "returned"][rng.integers(4)], ["DHL", "UPS", "PostNL", "FedEx"][rng.integers(4)], rng.integers(1, 29))
                elif k == 1:
                    call = '{"tool": "track_shipment", "args": {"tracking_id": "TRK%d"}}' % o
                    res = '{"last_scan": "sorting centre", "days_since_scan": %d}' % rng.integers(0, 9)
                elif k == 2:
                    call = '{"tool": "create_ticket", "args": {"summary": "customer follow-up", "priority": "%s"}}' % ["low", "normal", "high"][rng.integers(3)]
                    res = '{"ticket_id": "T-%d"}' % rng.integers(1000, 99999)
                else:
                    call = '{"tool": "issue_refund", "args": {"order_id": "%d", "amount": %.2f}}' % (o, rng.uniform(5, 300))
                    res = '{"ok": true}'
                out.append(f"assistant: {call}\ntool_result: {res}\n")
        return out


B_AGENT_C = AgentBank("react")
B_SUPPORT_AGENT = AgentBank("support")

# ------------------------------------------------------------------ evaluation org benchmark
EXPLANATIONS = L("""Because the denser material sinks below the less dense one|Because energy is conserved in the
system|Because of the difference in heat capacity|Because light of shorter wavelength is scattered more|
Because of friction between the surfaces|Because pressure decreases with altitude|Because of the
Earth's rotation|Because the reaction releases a gas|Because of gravitational attraction|Because
molecules move faster at higher temperatures|Because of surface tension|Because supply cannot adjust
quickly to demand|Because the material conducts heat away quickly|Because of chemical bonds breaking|
Because of refraction at the boundary|Because of evaporation|Because of the greenhouse effect|
Because of tidal locking|Because of the Bernoulli principle|Because of random chance alone|
Because of magnetic attraction|Because water expands when it freezes""".replace("\n", " "))


def _build_eval():
    rng = np.random.default_rng(4242)
    suites = []
    items = []
    for i in range(1200):
        nm, nm2 = rng.choice(NAMES, 2, replace=False)
        it = ITEMS[rng.integers(len(ITEMS))]
        a, b, c, k = rng.integers(20, 200), rng.integers(5, 80), rng.integers(3, 40), rng.integers(2, 9)
        q = (f"{nm} has {a} {it}. They buy {b} more and then give {c} to {nm2}. They split the rest equally among "
             f"{k} friends. How many {it} does each friend get, and how many are left over?")
        items.append("Solve the following math word problem. Let's think step by step, and end your response with "
                     f"'Answer: <number>'.\n\nProblem: {q}")
    suites.append(("arith", objarr(items), K_REASON, 3.0))
    items = []
    for i in range(800):
        ph = PHENOMENA[rng.integers(len(PHENOMENA))]
        opts = rng.choice(EXPLANATIONS, 4, replace=False)
        items.append("The following is a multiple choice question. Think step by step before answering, then finish "
                     "with 'Answer: X' where X is A, B, C or D.\n\n"
                     f"Which of the following best explains why {ph}?\nA. {opts[0]}\nB. {opts[1]}\nC. {opts[2]}\nD. {opts[3]}")
    suites.append(("science", objarr(items), K_MCQ, 2.0))
    items = []
    for i in range(500):
        a, b = rng.choice(NAMES, 2, replace=False)
        c1, c2 = rng.choice(KK, 2, replace=False)
        items.append("Knights always tell the truth and knaves always lie.\n"
                     f"{a} says: \"{c1}.\"\n{b} says: \"{c2}.\"\nWhat are {a} and {b}?\n"
                     "A. both knights\nB. both knaves\nC. {0} knight, {1} knave\nD. {0} knave, {1} knight\n".format(a, b)
                     + "Reason step by step, then answer with the letter only on the last line.")
    suites.append(("logic", objarr(items), K_MCQ, 1.5))
    items = []
    for i in range(500):
        a, b, k = rng.integers(0, 9), rng.integers(1, 9), rng.integers(3, 9)
        t = i % 3
        if t == 0:
            code = f"a, b = {a}, {b}\nfor i in range({k}):\n    a, b = b, a + b\nprint(a, b)"
        elif t == 1:
            code = f"xs = [i * {b} % {k + 3} for i in range({k + 4})]\nprint(sorted(set(xs))[:{k - 1}], sum(xs))"
        else:
            code = f"s = 'abcdefghij'[{a % 5}:{a % 5 + k}]\nprint(s[::-1], len(s) * {b})"
        items.append("What does the following Python program print? Reason through the execution step by step, then give "
                     f"the exact output after 'Output:'.\n\n```python\n{code}\n```")
    suites.append(("code", objarr(items), K_REASON, 1.5))
    items = []
    pars = gen_paragraph(rng, 300, None, 4, 6)
    for i in range(300):
        opts = gen_sentence(rng, 4)
        items.append("Read the passage and answer the question.\n\nPassage: " + pars[i]
                     + "\n\nQuestion: Which of the following statements is supported by the passage?\n"
                     + "\n".join(f"{'ABCD'[j]}. {opts[j]}" for j in range(4)) + "\nThink step by step, then answer with a single letter.")
    suites.append(("reading", objarr(items), K_MCQ, 1.0))
    return suites


EVAL_SUITES = _build_eval()
EVAL_SYS = sys_id("You are being evaluated on a benchmark. Follow the requested answer format exactly.")


class EvalBank(Bank):
    def render(self, rng, m, ctx):
        sess, pos = ctx["sess"], ctx["pos"]
        us, inv = np.unique(sess, return_inverse=True)
        ns = len(us)
        suite = rng.choice(len(EVAL_SUITES), size=ns, p=norm([s[3] for s in EVAL_SUITES]))
        start = rng.integers(0, 10 ** 6, ns)
        use_sys = rng.random(ns) < 0.7
        out = np.empty(m, dtype=object)
        kinds = np.empty(m, np.int8)
        su = suite[inv]
        for s in np.unique(su).tolist():
            idx = np.nonzero(su == s)[0]
            arr = EVAL_SUITES[s][1]
            out[idx] = arr[(start[inv[idx]] + pos[idx]) % len(arr)]
            kinds[idx] = EVAL_SUITES[s][2]
        sysv = np.where(use_sys[inv], EVAL_SYS, -1)
        return out, kinds, sysv


B_EVAL = EvalBank()

# ------------------------------------------------------------------ classroom assignments
N_WEEKS = 8


def _build_class():
    rng = np.random.default_rng(5151)
    courses = []
    # 0: statistics (DE), 1: intro programming (US), 2: data-structures bootcamp (IN)
    c = []
    for w in range(N_WEEKS):
        probs = []
        for p in range(6):
            n, mu, sd = rng.integers(20, 400), rng.integers(40, 180), rng.integers(5, 30)
            conf = [90, 95, 99][rng.integers(3)]
            t = p % 3
            if t == 0:
                probs.append(f"A sample of {n} students has a mean score of {mu} and a standard deviation of {sd}. Construct a {conf}% confidence interval for the population mean and interpret it.")
            elif t == 1:
                probs.append(f"A coin is tossed {n} times and lands heads {int(n * rng.uniform(.4, .62))} times. Test at the {100 - conf}% level whether the coin is fair. State H0, H1, the test statistic and your conclusion.")
            else:
                probs.append(f"The waiting time at a clinic is exponentially distributed with mean {sd} minutes. What is the probability that a patient waits more than {rng.integers(10, 60)} minutes? What is the median waiting time?")
        c.append(probs)
    courses.append(c)
    c = []
    for w in range(N_WEEKS):
        probs = []
        for p in range(6):
            task = CODE_TASKS[rng.integers(len(CODE_TASKS))]
            fn = SNIP_FUNCS[rng.integers(len(SNIP_FUNCS))] + "_" + SNIP_VARS[rng.integers(len(SNIP_VARS))]
            probs.append(f"Homework {w + 1}, exercise {p + 1}: Write a Python function `{fn}` that {task}. Your function must pass the doctests in the starter file and must not use any imports.")
        c.append(probs)
    courses.append(c)
    c = []
    for w in range(N_WEEKS):
        probs = []
        for p in range(6):
            n = rng.integers(5, 100000)
            task = CODE_TASKS[rng.integers(len(CODE_TASKS))]
            probs.append(f"Week {w + 1} problem {p + 1}: Given an input of up to {n} items, write a program that {task}. State the time and space complexity and explain why your approach is optimal.")
        c.append(probs)
    courses.append(c)
    return courses


CLASS_PROBLEMS = _build_class()
CLASS_WRAP = [("{p}", 45), ("{p}\n\nexplain step by step", 12), ("can you help me with this question from my homework? {p}", 10),
              ("{p} please explain how to do it, i don't just want the answer", 8), ("I'm stuck on this: {p}", 8),
              ("my answer doesn't match the solution, why? {p}", 6), ("{p}\nstep by step pls", 6), ("Q{n}. {p}", 5)]


class ClassBank(Bank):
    def render(self, rng, m, ctx):
        pop = ctx["pop"]
        course = pop.extra["course"][ctx["acct"]]
        week = np.clip((ctx["d"] + pop.extra["week_off"][course]) // 7, 0, N_WEEKS - 1)
        p = rng.integers(0, 6, m)
        wr = rng.choice(len(CLASS_WRAP), size=m, p=norm([w for _, w in CLASS_WRAP]))
        out = objarr([CLASS_WRAP[wr[i]][0].format(p=CLASS_PROBLEMS[course[i]][week[i]][p[i]], n=p[i] + 1) for i in range(m)])
        return out, np.full(m, K_REASON, np.int8), None


B_CLASS = ClassBank()

# ------------------------------------------------------------------ SaaS (BYOK writing/support tool)
SAAS_SYS = sys_id("You are Quillpad, an AI writing assistant embedded in customer-support inboxes. Follow the workspace brand voice, never promise refunds or legal outcomes, keep personal data out of summaries, and answer in the language of the end customer unless asked otherwise. Output plain text without Markdown unless the user asks for a list.")
SAAS_TITLES = L("How to reset your password|Shipping times explained|Changing your plan|Our refund policy|Using the mobile app|Setting up two-factor authentication|Exporting your data|Troubleshooting login errors")


class WithSys(Bank):
    def __init__(self, inner, sys_ids, p_none=0.0):
        super().__init__()
        self.inner, self.sys_ids, self.p_none = inner, np.array(sys_ids), p_none

    def render(self, rng, m, ctx):
        o, k, _ = self.inner.render(rng, m, ctx)
        s = self.sys_ids[rng.integers(0, len(self.sys_ids), m)]
        s[rng.random(m) < self.p_none] = -1
        return o, k, s


B_SAAS = WithSys(TBank([
    ("Rewrite the following reply so it is {tone} and under {wl} words:\n\n{para}", 4, K_WRITE),
    ("Summarize this support conversation for the ticket history:\n{dialog}", 3, K_SUMMARY),
    ("Draft a reply to this customer email. Brand voice: {tone}.\n\nEmail:\n{para}", 4, K_WRITE),
    ("Turn these notes into a knowledge-base article titled '{title}':\n{para}", 1.5, K_WRITE),
    ("Suggest three subject lines for a newsletter about {li_topic}.", 1, K_WRITE),
    ("Explain this billing discrepancy to the customer step by step, in plain language: {spara}", 1, K_REASON),
    ("Translate this reply into {language}, keeping the tone {tone}:\n{spara}", 1.5, K_TRANSLATE),
    ("Classify this message as complaint, question, praise or spam: {review}", 2, K_EXTRACT),
    ("Fix grammar and spelling only:\n{spara}", 2, K_WRITE),
], {**S, "wl": ("int", 40, 200), "title": SAAS_TITLES}), [SAAS_SYS])


# ----------------------------------------------------------------------------------
# personas: mixtures of banks
# ----------------------------------------------------------------------------------
class Persona:
    def __init__(self, banks, follow=None, follow_p=0.0, retry_p=0.0, lang_ok=False, history=False):
        self.bank_ids = np.array([b.id for b, _ in banks])
        self.w = norm([w for _, w in banks])
        self.follow = follow.id if follow is not None else -1
        self.follow_p, self.retry_p, self.lang_ok, self.history = follow_p, retry_p, lang_ok, history


PERSONAS: dict[str, int] = {}
PERSONA_LIST: list[Persona] = []


def persona(name, *a, **k):
    PERSONAS[name] = len(PERSONA_LIST)
    PERSONA_LIST.append(Persona(*a, **k))


persona("general", [(B_SHORT, .09), (B_QA, .23), (B_ADVICE, .14), (B_WRITE, .15), (B_CODE, .05), (B_REASON, .07),
                    (B_SUMMARY, .05), (B_TRANSLATE, .04), (B_STOCK, .02), (B_CHAT, .04)], B_FOLLOW, .22, .03, True, True)
persona("student", [(B_REASON, .28), (B_QA, .2), (B_WRITE, .14), (B_CODE, .1), (B_SHORT, .07), (B_SUMMARY, .09),
                    (B_ADVICE, .05), (B_STOCK, .03), (B_TRANSLATE, .04)], B_FOLLOW, .25, .03, True, True)
persona("writer", [(B_WRITE, .55), (B_SUMMARY, .12), (B_QA, .1), (B_SHORT, .07), (B_ADVICE, .08), (B_TRANSLATE, .08)],
        B_FOLLOW, .3, .03, True, True)
persona("hobby", [(B_CODE, .55), (B_QA, .15), (B_SHORT, .08), (B_REASON, .1), (B_WRITE, .05), (B_ADVICE, .07)],
        B_FOLLOW, .3, .04, False, True)
persona("copy", [(B_STOCK, .45), (B_SHORT, .12), (B_QA, .15), (B_WRITE, .15), (B_ADVICE, .08), (B_REASON, .05)],
        B_FOLLOW, .3, .03, False, True)
persona("smalltalk", [(B_CHAT, .4), (B_SHORT, .25), (B_QA, .2), (B_ADVICE, .15)], B_FOLLOW, .3, .02, True, True)
persona("dev_interactive", [(B_CODE, .6), (B_QA, .1), (B_SHORT, .08), (B_REASON, .08), (B_WRITE, .06), (B_SUMMARY, .08)],
        B_FOLLOW, .4, .04, False, True)
persona("dev_app", [(B_DEVAPP, 1)], retry_p=.01)
persona("dev_agent", [(B_SUPPORT_AGENT, 1)])
persona("eval", [(B_EVAL, 1)])
persona("bulk", [(B_BULK, 1)])
persona("hydra", [(B_HYDRA, 1)])
persona("lowslow", [(B_LOWSLOW, 1)])
persona("relay", [(B_RELAY, 1)])
persona("agent_c", [(B_AGENT_C, 1)])
persona("farm", [(B_FARM, .88), (B_SHORT, .07), (B_CHAT, .05)])
persona("aged", [(B_AGED, 1)], B_AGED_FOLLOW, .8, 0, False, True)
persona("class", [(B_CLASS, .5), (B_REASON, .2), (B_CODE, .1), (B_QA, .1), (B_WRITE, .05), (B_SHORT, .05)],
        B_FOLLOW, .35, .03, False, True)
persona("saas", [(B_SAAS, 1)])


# ----------------------------------------------------------------------------------
# activity profiles (local time, 24 hourly weights -> 96 quarter hours) and weekday factors
# ----------------------------------------------------------------------------------
_cons = [.30, .18, .10, .06, .05, .06, .12, .30, .55, .75, .85, .90, .95, .90, .85, .85, .90, .95, 1.0, 1.05, 1.1, 1.05, .85, .55]
PROFILES = {
    "consumer": (_cons, [1, 1, 1, 1, 1, .95, .9]),
    "night": (list(np.roll(_cons, 4)), [1] * 7),
    "student": ([.5, .35, .2, .1, .05, .05, .08, .2, .4, .6, .75, .85, .9, .95, 1, 1, 1, 1, 1.05, 1.1, 1.15, 1.1, .95, .75],
                [1, 1, 1, 1, .9, .75, .9]),
    "work": ([.03, .02, .02, .02, .02, .04, .1, .3, .7, 1, 1, 1, .75, .95, 1, 1, .95, .7, .4, .3, .3, .25, .15, .06],
             [1, 1, 1, 1, .95, .25, .2]),
    "flat": ([1] * 24, [1] * 7),
    "office": ([0] * 9 + [1, 1, 1, .6, 1, 1, 1, 1, 1] + [0] * 6, [1, 1, 1, 1, 1, 0, 0]),
    "business": ([.01] * 7 + [.2, .6, 1, 1, 1, .8, 1, 1, 1, .9, .5, .2, .1, .05, .03, .02, .01], [1, 1, 1, 1, .9, .12, .08]),
    "farm": ([.6, .3, 0, 0, 0, 0, 0, .5] + [1] * 16, [1] * 7),
    "relayday": ([.4, .1, 0, 0, 0, 0, 0, 0, .6] + [1] * 15, [1, 1, 1, 1, 1, .8, .7]),
}
PROF_ID = {k: i for i, k in enumerate(PROFILES)}
PROF96 = np.array([np.repeat(np.asarray(h, float), 4) for h, _ in PROFILES.values()])
WKMUL = np.array([w for _, w in PROFILES.values()], float)
WKMEAN = WKMUL.mean(1)


def sample_times(rng, tzb, prof, d):
    """Absolute UTC times (us) within UTC day d, following each row's local profile."""
    m = len(tzb)
    out = np.empty(m, np.int64)
    if m == 0:
        return out
    key = (tzb.astype(np.int64) + 200) * 64 + prof
    uk, inv = np.unique(key, return_inverse=True)
    b = np.arange(96)
    for j, k in enumerate(uk.tolist()):
        idx = np.nonzero(inv == j)[0]
        tz, p = k // 64 - 200, k % 64
        lb = b + tz
        wd = (WD0 + d + np.floor_divide(lb, 96)) % 7
        w = PROF96[p, lb % 96] * WKMUL[p, wd]
        if w.sum() <= 0:
            w = np.ones(96)
        cdf = np.cumsum(w) / w.sum()
        bins = np.minimum(np.searchsorted(cdf, rng.random(len(idx)), side="right"), 95)
        out[idx] = T0 + d * DAY + ((bins + rng.random(len(idx))) * (15 * MIN)).astype(np.int64)
    return out


def lognorm(rng, med, sig, n):
    return rng.lognormal(np.log(med), sig, n)


# ----------------------------------------------------------------------------------
# incident container: randomness, address table, account registry
# ----------------------------------------------------------------------------------
class Incident:
    def __init__(self, letter, rows, seed):
        self.letter, self.rows, self.seed = letter, rows, seed
        self._v4, self._net = [], []
        self.n_addr = 0
        self.meta = {k: [] for k in ("created", "email", "pay", "bill", "org", "label", "group")}
        self.n_acc = 0
        self.pops: list[Pop] = []
        self.proxy = None
        r = self.rng("infra")
        # mobile carrier CGNAT egress pools (contiguous ranges, shared by every mobile user)
        self.cg_off = np.full(len(NET.name), -1, np.int64)
        self.cg_len = np.zeros(len(NET.name), np.int64)
        tot = C_W.sum()
        for c in range(len(C_CODE)):
            for j, net in enumerate(NET.c_mobs[c].tolist()):
                size = int(max(12, round(C_W[c] / tot * NET.c_mobw[c][j] * rows / 900)))
                base = NET.BLK[net, 0] + int(r.integers(0, 65536 - size - 2))
                self.cg_off[net] = self.add_addr(np.full(size, net), base + np.arange(size))[0]
                self.cg_len[net] = size
        # office networks per country (business lines on local ISPs)
        self.offices = []
        for c in range(len(C_CODE)):
            k = int(max(3, round(C_W[c] / tot * rows / 600)))
            nets = NET.c_isps[c][r.choice(len(NET.c_isps[c]), size=k, p=NET.c_ispw[c])]
            self.offices.append(self.add_addr(nets, NET.v4_random(r, nets)))
        # commercial VPN exits (datacenter hosting)
        vnets = [i for i, kd in enumerate(NET.kind) if kd == "vpn"]
        nets = np.array(vnets)[r.integers(0, len(vnets), 60)]
        self.vpn_ids = self.add_addr(nets, NET.v4_random(r, nets))

    def rng(self, *keys):
        ks = [self.seed & 0xFFFFFFFF, (self.seed >> 32) & 0xFFFFFFFF, ord(self.letter)]
        ks += [crc(k) if isinstance(k, str) else int(k) for k in keys]
        return np.random.Generator(np.random.PCG64(np.random.SeedSequence(ks)))

    def add_addr(self, nets, v4):
        nets = np.asarray(nets, np.int64)
        v4 = np.asarray(v4, np.int64)
        ids = np.arange(self.n_addr, self.n_addr + len(v4), dtype=np.int64)
        self._v4.append(v4); self._net.append(nets)
        self.n_addr += len(v4)
        return ids

    def cloud_addrs(self, rng, choices, n):
        """n addresses drawn from [(net id, weight)]"""
        nets = np.array([c for c, _ in choices])[rng.choice(len(choices), size=n, p=norm([w for _, w in choices]))]
        return self.add_addr(nets, NET.v4_random(rng, nets))

    def build_proxy(self, size):
        r = self.rng("proxy")
        cw = C_W / C_W.sum()
        cidx = r.choice(len(C_CODE), size=size, p=cw)
        nets = np.empty(size, np.int64)
        for c in np.unique(cidx).tolist():
            idx = np.nonzero(cidx == c)[0]
            nets[idx] = NET.c_isps[c][r.choice(len(NET.c_isps[c]), size=len(idx), p=NET.c_ispw[c])]
        ids = self.add_addr(nets, NET.v4_random(r, nets))
        st = r.uniform(-40, NDAYS, size)
        ln = 3 + r.exponential(22, size)
        self.proxy = (ids, st, st + ln)

    def proxy_active(self, d):
        ids, st, en = self.proxy
        a = ids[(st <= d + 0.5) & (en > d + 0.5)]
        return a if len(a) else ids

    def finalize(self):
        self.A_V4 = np.concatenate(self._v4)
        self.A_NET = np.concatenate(self._net)

    def register(self, pop, created, email, pay, bill, org, group=None):
        n = pop.n
        pop.gid = np.arange(self.n_acc, self.n_acc + n, dtype=np.int64)
        self.n_acc += n
        m = self.meta
        m["created"].append(np.asarray(created, np.int64))
        for k, v in (("email", email), ("pay", pay), ("bill", bill), ("org", org)):
            m[k].append(objarr(v) if not isinstance(v, np.ndarray) else v.astype(object))
        m["label"].append(objarr([pop.label] * n))
        m["group"].append(objarr([group or pop.name] * n))


# ----------------------------------------------------------------------------------
# population engine
# ----------------------------------------------------------------------------------
class Pop:
    day_shape = 3.0
    daycap = 0          # hard per-day request cap (free tier), 0 = none

    def __init__(self, inc, name, label, n):
        self.inc, self.name, self.label, self.n = inc, name, label, n
        self.code = crc(name)
        z = lambda dt: np.zeros(n, dt)
        self.gid = z(np.int64)
        self.start_us = np.full(n, T0, np.int64)
        self.end_us = np.full(n, T_END, np.int64)
        self.tzb = z(np.int64)
        self.prof = z(np.int64)
        self.rate = np.ones(n)
        self.pact = np.ones(n)
        self.sesslen = np.ones(n)
        self.gapmed = np.full(n, 30.0)
        self.gap_sigma = 0.8
        self.netp = np.zeros((n, 6))
        self.netp[:, NT_HOME] = 1
        self.home_net = np.full(n, NET.c_isps[0][0], np.int64)
        self.home_key = z(np.uint64)
        self.lease = np.full(n, 10 ** 6, np.int64)
        self.lphase = z(np.int64)
        self.v6 = z(bool)
        self.mob_net = np.full(n, NET.c_mobs[0][0], np.int64)
        self.office = np.full(n, -1, np.int64)
        self.pool_ids = np.zeros(1, np.int64)
        self.pool_off = z(np.int64)
        self.pool_len = np.ones(n, np.int64)
        self.rotate = z(bool)
        self.ua_main = z(np.int64)
        self.ua_mob = z(np.int64)
        self.persona = z(np.int64)
        self.lang = z(np.int64)
        self.lang_p = z(float)
        self.sysp = np.full(n, -1, np.int64)
        self.mpre = np.tile([.4, .5, .1, 0.], (n, 1))
        self.mpost = self.mpre.copy()
        self.adopt = np.full(n, 10 ** 6, np.int64)
        self.extra = {}

    # --- configuration helpers
    def set_shared_pool(self, ids):
        self.pool_ids = np.asarray(ids, np.int64)
        self.pool_off[:] = 0
        self.pool_len[:] = len(ids)

    def set_pools(self, lists):
        lens = np.array([len(x) for x in lists], np.int64)
        self.pool_ids = np.concatenate(lists).astype(np.int64)
        self.pool_len = lens
        self.pool_off = np.cumsum(lens) - lens

    def models(self, idx, pre, post, adopt):
        self.mpre[idx] = norm(pre)
        self.mpost[idx] = norm(post)
        self.adopt[idx] = adopt

    def expected(self):
        alive = np.clip((self.end_us - np.maximum(self.start_us, T0)) / DAY, 0, NDAYS)
        return self.pact.clip(0, 1) * WKMEAN[self.prof] * np.maximum(self.rate, 1) * alive

    # --- per-day generation
    def pact_mult(self, d):
        return 1.0

    def sessions(self, d, rng):
        ds = T0 + d * DAY
        alive = (self.start_us < ds + DAY) & (self.end_us > ds)
        wdl = (WD0 + d + np.floor_divide(48 + self.tzb, 96)) % 7
        f = WKMUL[self.prof, wdl] * self.pact_mult(d)
        a = np.nonzero(alive & (rng.random(self.n) < self.pact * f))[0]
        if len(a) == 0:
            return None
        lam = self.rate[a] * rng.gamma(self.day_shape, 1 / self.day_shape, len(a))
        nreq = 1 + rng.poisson(np.maximum(lam - 1, 0))
        if self.daycap:
            nreq = np.minimum(nreq, self.daycap)
        ns = 1 + rng.binomial(nreq - 1, np.clip(1 / self.sesslen[a], 0, 1))
        sa = np.repeat(a, ns)
        so = np.cumsum(ns) - ns
        extra = nreq - ns
        ea = np.repeat(np.arange(len(a)), extra)
        tgt = so[ea] + (rng.random(len(ea)) * ns[ea]).astype(np.int64)
        cnt = 1 + np.bincount(tgt, minlength=len(sa))
        return dict(acct=sa, start=sample_times(rng, self.tzb[sa], self.prof[sa], d), n=cnt)

    def resolve(self, rng, typ, acct, d):
        m = len(typ)
        net = np.zeros(m, np.int64)
        v4 = np.zeros(m, np.int64)
        v6 = np.zeros(m, bool)
        hi = np.zeros(m, np.uint64)
        lo = np.zeros(m, np.uint64)
        aid = np.full(m, -1, np.int64)
        inc = self.inc
        h = np.nonzero(typ == NT_HOME)[0]
        if len(h):
            a = acct[h]
            li = ((d + self.lphase[a]) // self.lease[a]).astype(np.uint64)
            key = self.home_key[a] ^ mix64(li * np.uint64(7919) + np.uint64(12345))
            net[h] = self.home_net[a]
            v4[h] = NET.v4_hashed(self.home_net[a], key)
            v6[h] = self.v6[a]
            hi[h] = self.home_key[a] >> np.uint64(32)
            lo[h] = mix64(self.home_key[a] ^ np.uint64(d * 104729 + 1))
        x = np.nonzero(typ == NT_MOB)[0]
        if len(x):
            c = self.mob_net[acct[x]]
            aid[x] = inc.cg_off[c] + (rng.random(len(x)) * inc.cg_len[c]).astype(np.int64)
        x = np.nonzero(typ == NT_OFFICE)[0]
        if len(x):
            aid[x] = self.office[acct[x]]
        x = np.nonzero(typ == NT_VPN)[0]
        if len(x):
            aid[x] = inc.vpn_ids[rng.integers(0, len(inc.vpn_ids), len(x))]
        x = np.nonzero(typ == NT_POOL)[0]
        if len(x):
            a = acct[x]
            aid[x] = self.pool_ids[self.pool_off[a] + (rng.random(len(x)) * self.pool_len[a]).astype(np.int64)]
        x = np.nonzero(typ == NT_PROXY)[0]
        if len(x):
            act = inc.proxy_active(d)
            aid[x] = act[rng.integers(0, len(act), len(x))]
        x = np.nonzero(aid >= 0)[0]
        v4[x] = inc.A_V4[aid[x]]
        net[x] = inc.A_NET[aid[x]]
        return net, v4, v6, hi, lo

    def day_rows(self, d):
        rng = self.inc.rng("day", self.name, d)
        S = self.sessions(d, rng)
        if S is None or len(S["acct"]) == 0:
            return None
        sa, st, sn = S["acct"], S["start"], S["n"]
        NS = len(sa)
        ds = T0 + d * DAY
        cp = np.cumsum(self.netp[sa], 1)
        typ = np.minimum((rng.random(NS)[:, None] >= cp).sum(1), 5)
        if S.get("forced") is not None:
            typ = np.where(S["forced"] >= 0, S["forced"], typ)
        loc = (st - T0) // (15 * MIN) + self.tzb[sa]
        lh = (loc % 96) // 4
        lwd = (WD0 + np.floor_divide(loc, 96)) % 7
        bad = (typ == NT_OFFICE) & ((lwd >= 5) | (lh < 8) | (lh >= 19) | (self.office[sa] < 0))
        typ[bad] = NT_HOME
        s_net, s_v4, s_v6, s_hi, s_lo = self.resolve(rng, typ, sa, d)
        R = int(sn.sum())
        rs = np.repeat(np.arange(NS), sn)
        off = np.cumsum(sn) - sn
        pos = np.arange(R) - off[rs]
        ra = sa[rs]
        g = rng.lognormal(np.log(self.gapmed[ra]), self.gap_sigma)
        g[pos == 0] = 0
        cg = np.cumsum(g)
        cg = cg - cg[off][rs]
        ts = st[rs] + (cg * 1e6).astype(np.int64)
        keep = (ts >= ds) & (ts < ds + DAY) & (ts >= self.start_us[ra]) & (ts < self.end_us[ra])
        rs, pos, ra, ts = rs[keep], pos[keep], ra[keep], ts[keep]
        R = len(rs)
        if R == 0:
            return None
        rtyp = typ[rs]
        net, v4, v6, hi, lo = s_net[rs], s_v4[rs], s_v6[rs], s_hi[rs], s_lo[rs]
        rot = np.nonzero(self.rotate[ra] & np.isin(rtyp, (NT_MOB, NT_POOL, NT_PROXY)))[0]
        if len(rot):
            n2, v42, _, _, _ = self.resolve(rng, rtyp[rot], ra[rot], d)
            net[rot], v4[rot] = n2, v42
        ua = np.where(rtyp == NT_MOB, self.ua_mob[ra], self.ua_main[ra])
        bank_ov = S.get("bank")
        prompts, kinds, sysv, hist, isfollow = self.render_prompts(rng, d, ra, rs, pos, sn[rs],
                                                         None if bank_ov is None else bank_ov[rs])
        # model
        post = d >= np.maximum(self.adopt[ra], RELEASE_DAY)
        P = np.where(post[:, None], self.mpost[ra], self.mpre[ra])
        model = np.minimum((rng.random(R)[:, None] >= np.cumsum(P, 1)).sum(1), 3)
        # tokens
        sp = pl.Series(prompts.tolist(), dtype=pl.Utf8)
        ch = sp.str.len_chars().to_numpy().astype(float)
        by = sp.str.len_bytes().to_numpy().astype(float)
        ptok = np.ceil((0.25 * ch + 0.30 * (by - ch)) * rng.lognormal(0, .06, R)).astype(np.int64) + 1
        rk = REASONING_KINDS[kinds].astype(np.int64)
        base = KIND_MED[kinds] * rng.lognormal(0, KIND_SIG[kinds]) * MODEL_MULT[rk, model]
        tr = kinds == K_TRANSLATE
        base[tr] = ptok[tr] * 1.15 * rng.lognormal(0, .15, int(tr.sum()))
        otok = np.clip(np.round(base), 1, 16000).astype(np.int64)
        itok = ptok + SYS_TOK[sysv] + 4
        if hist.any():
            # chat clients resend the conversation: a follow-up continues it, a fresh question
            # usually starts a new conversation
            newconv = (pos == 0) | np.r_[True, rs[1:] != rs[:-1]] | (~isfollow & (rng.random(R) < .6))
            conv = np.cumsum(newconv) - 1
            c = ptok + otok
            cs = np.cumsum(c)
            first = np.nonzero(newconv)[0][conv]
            prior = cs - c - (cs[first] - c[first])
            itok = itok + np.where(hist, np.minimum(prior, 12000), 0)
        return dict(gid=self.gid[ra], ts=ts, net=net, v4=v4, v6=v6, hi=hi, lo=lo, ua=ua, model=model,
                    itok=itok, otok=otok, prompt=prompts, sys=sysv)

    def render_prompts(self, rng, d, ra, rs, pos, nreq, bank_ov):
        R = len(ra)
        pers = self.persona[ra]
        bank = np.empty(R, np.int64)
        isfollow = np.zeros(R, bool)
        hist = np.zeros(R, bool)
        retry_p = np.zeros(R)
        for pid in np.unique(pers).tolist():
            idx = np.nonzero(pers == pid)[0]
            P = PERSONA_LIST[pid]
            b = P.bank_ids[rng.choice(len(P.bank_ids), size=len(idx), p=P.w)]
            if P.follow >= 0:
                f = (pos[idx] > 0) & (rng.random(len(idx)) < P.follow_p)
                b[f] = P.follow
                isfollow[idx[f]] = True
            if P.lang_ok:
                lg = self.lang[ra[idx]]
                use = np.nonzero((lg > 0) & (rng.random(len(idx)) < self.lang_p[ra[idx]]))[0]
                for li in np.unique(lg[use]).tolist():
                    sel = use[lg[use] == li]
                    b[sel] = LANG_BANK_BY_ID[li].id
            bank[idx] = b
            hist[idx] = P.history
            retry_p[idx] = P.retry_p
        if bank_ov is not None:
            o = (bank_ov >= 0) & ~isfollow
            bank[o] = bank_ov[o]
        prompts = np.empty(R, dtype=object)
        kinds = np.empty(R, np.int8)
        sysv = self.sysp[ra].copy()
        for bid in np.unique(bank).tolist():
            idx = np.nonzero(bank == bid)[0]
            ctx = dict(d=d, salt=self.code, acct=ra[idx], sess=rs[idx], pos=pos[idx], nreq=nreq[idx], pop=self)
            o, k, s = BANKS[bid].render(rng, len(idx), ctx)
            prompts[idx] = o
            kinds[idx] = k
            if s is not None:
                sysv[idx] = s
        rt = np.nonzero((pos > 0) & (rng.random(R) < retry_p))[0]
        rt = rt[(rt > 0)]
        rt = rt[rs[rt - 1] == rs[rt]]
        if len(rt):
            prompts[rt] = prompts[rt - 1]
            kinds[rt] = kinds[rt - 1]
        return prompts, kinds, sysv, hist, isfollow


# ----------------------------------------------------------------------------------
# account attribute helpers
# ----------------------------------------------------------------------------------
GLOBAL_MAIL = [("gmail.com", .50), ("outlook.com", .10), ("hotmail.com", .07), ("yahoo.com", .06),
               ("icloud.com", .06), ("proton.me", .03)]
LOCAL_SHARE = .18


def hexid(rng, n, prefix, bits=63):
    v = rng.integers(0, 1 << bits, n, dtype=np.int64)
    return objarr([f"{prefix}{x:016x}" for x in v.tolist()])


def cards(rng, n, p):
    c = hexid(rng, n, "pm_")
    c[rng.random(n) >= p] = None
    return c


def emails(rng, cidx, extra=None):
    """Ordinary mail providers plus the account country's local providers."""
    n = len(cidx)
    names = [d for d, _ in GLOBAL_MAIL]
    w = np.array([x for _, x in GLOBAL_MAIL])
    out = objarr(np.array(names, dtype=object)[rng.choice(len(names), size=n, p=norm(w))])
    loc = rng.random(n) < LOCAL_SHARE
    for c in np.unique(cidx[loc]).tolist():
        lst = COUNTRY_SPEC[c][7]
        if not lst:
            continue
        idx = np.nonzero(loc & (cidx == c))[0]
        out[idx] = np.array(lst, dtype=object)[rng.integers(0, len(lst), len(idx))]
    if extra:
        for dom, p in extra:
            out[rng.random(n) < p] = dom
    return out


def company_domains(rng, n):
    a = rng.integers(0, len(COMPANY_WORDS), n)
    b = rng.integers(0, len(COMPANY_WORDS), n)
    t = rng.choice(len(TLDS), size=n, p=norm([8, 4, 2, 1.5, 1.5, 1, 1, 1, 1, .7, .5, .5, .5]))
    suf = rng.random(n) < 0.25
    return objarr([f"{COMPANY_WORDS[a[i]].lower()}{COMPANY_WORDS[b[i]].lower()}{'hq' if suf[i] else ''}.{TLDS[t[i]]}"
                   for i in range(n)])


def tz_for(rng, cidx):
    out = np.zeros(len(cidx), np.int64)
    for c in np.unique(cidx).tolist():
        idx = np.nonzero(cidx == c)[0]
        opts = COUNTRY_SPEC[c][2]
        k = rng.choice(len(opts), size=len(idx), p=norm([w for _, w in opts]))
        out[idx] = np.round(np.array([h for h, _ in opts])[k] * 4).astype(np.int64)
    return out


def isp_for(rng, cidx):
    out = np.zeros(len(cidx), np.int64)
    for c in np.unique(cidx).tolist():
        idx = np.nonzero(cidx == c)[0]
        out[idx] = NET.c_isps[c][rng.choice(len(NET.c_isps[c]), size=len(idx), p=NET.c_ispw[c])]
    return out


def mob_for(rng, cidx):
    out = np.zeros(len(cidx), np.int64)
    for c in np.unique(cidx).tolist():
        idx = np.nonzero(cidx == c)[0]
        out[idx] = NET.c_mobs[c][rng.choice(len(NET.c_mobs[c]), size=len(idx), p=NET.c_mobw[c])]
    return out


def office_for(inc, rng, cidx):
    out = np.zeros(len(cidx), np.int64)
    for c in np.unique(cidx).tolist():
        idx = np.nonzero(cidx == c)[0]
        o = inc.offices[c]
        # a few big offices and many small ones
        out[idx] = o[rng.choice(len(o), size=len(idx), p=norm(1.0 / np.arange(1, len(o) + 1) ** 0.6))]
    return out


def created_benign(rng, n, pre=.78, age_mean=260):
    pre_m = rng.random(n) < pre
    c = np.empty(n, np.int64)
    age = np.minimum(rng.exponential(age_mean, n), 1100) + rng.random(n)
    c[pre_m] = T0 - (age[pre_m] * DAY).astype(np.int64)
    c[~pre_m] = T0 + (rng.uniform(0, NDAYS - 0.5, (~pre_m).sum()) * DAY).astype(np.int64)
    return c


def weights_for(boost):
    w = C_W.copy()
    for code, f in boost.items():
        w[C_IDX[code]] *= f
    return w


def pick_codes(rng, n, table):
    codes = list(table)
    return np.array([C_IDX[c] for c in codes])[rng.choice(len(codes), size=n, p=norm(list(table.values())))]


def set_home(pop, rng, cidx, v6_share=.45, dyn_share=.4, household=.05):
    n = pop.n
    pop.home_net = isp_for(rng, cidx)
    pop.home_key = rng.integers(0, 1 << 62, n, dtype=np.int64).astype(np.uint64)
    dyn = rng.random(n) < dyn_share
    pop.lease = np.where(dyn, rng.integers(1, 15, n), 10 ** 6).astype(np.int64)
    pop.lphase = rng.integers(0, 30, n)
    pop.v6 = NET.HASV6[pop.home_net] & (rng.random(n) < v6_share)
    if household > 0:
        sel = np.nonzero(rng.random(n) < household)[0]
        for c in np.unique(cidx[sel]).tolist():
            grp = np.nonzero(cidx == c)[0]
            s = sel[cidx[sel] == c]
            if len(grp) < 2:
                continue
            partner = grp[rng.integers(0, len(grp), len(s))]
            for f in ("home_net", "home_key", "lease", "lphase", "v6"):
                arr = getattr(pop, f)
                arr[s] = arr[partner]


def set_models_consumer(pop, rng, idx, card):
    n = len(idx)
    adopt = np.where(rng.random(n) < .55, RELEASE_DAY + rng.exponential(4, n).astype(np.int64), 10 ** 6)
    paid = card[idx] != None  # noqa: E711
    pop.mpre[idx] = np.where(paid[:, None], norm([.30, .52, .18, 0]), norm([.45, .55, 0, 0]))
    pop.mpost[idx] = np.where(paid[:, None], norm([.22, .38, .10, .30]), norm([.40, .45, 0, .15]))
    pop.adopt[idx] = adopt


def set_models_pinned(pop, rng, idx):
    n = len(idx)
    m0 = rng.choice(3, size=n, p=[.35, .45, .2])
    pre = np.full((n, 4), .1 / 3)
    pre[np.arange(n), m0] = .9
    pre[:, 3] = 0
    pre = pre / pre.sum(1, keepdims=True)
    sw = rng.random(n) < .4
    post = pre.copy()
    post[sw] = np.array([.05, .05, .05, .85])
    pop.mpre[idx] = pre
    pop.mpost[idx] = post
    pop.adopt[idx] = np.where(sw, RELEASE_DAY + rng.exponential(8, n).astype(np.int64), 10 ** 6)


def pick_ua(rng, groups, n):
    """groups: [(ua-group, weight)]"""
    g = rng.choice(len(groups), size=n, p=norm([w for _, w in groups]))
    out = np.zeros(n, np.int64)
    for j, (name, _) in enumerate(groups):
        idx = np.nonzero(g == j)[0]
        if len(idx):
            out[idx] = UA.sample(rng, name, len(idx))
    return out


def set_personas(pop, rng, table, idx=None):
    idx = np.arange(pop.n) if idx is None else idx
    names = list(table)
    k = rng.choice(len(names), size=len(idx), p=norm(list(table.values())))
    pop.persona[idx] = np.array([PERSONAS[x] for x in names])[k]


def set_lang(pop, rng, cidx):
    pop.lang = np.array([LANG_ID.get(LANG_OF[c], 0) for c in cidx.tolist()], np.int64)
    pop.lang_p = np.clip(LANGP_OF[cidx] + rng.normal(0, .15, len(cidx)), 0, 1) * (pop.lang > 0)


# ----------------------------------------------------------------------------------
# benign / organic populations
# ----------------------------------------------------------------------------------
MOBILE_TILT = {"IN": 2.5, "ID": 3, "PH": 3, "NG": 4, "BR": 1.8, "KE": 4, "EG": 2.5, "PK": 3, "BD": 3, "VN": 2.5,
               "MX": 2, "TR": 1.8, "ZA": 2.5, "TH": 2}
TECH_TILT = {"US": 1.8, "IN": 1.6, "DE": 1.3, "GB": 1.3, "CA": 1.3, "NL": 1.5, "SE": 1.4, "IL": 1.8, "SG": 1.6,
             "NG": .5, "BD": .5, "EG": .5, "KE": .6, "PH": .6, "ID": .6, "VN": .8}
RESELLER_TILT = {"SG": 3, "MY": 3, "PH": 2.5, "TW": 3, "ID": 2.5, "VN": 3, "IN": 1.5, "TR": 2.5, "AE": 3, "SA": 3,
                 "PK": 2.5, "BD": 2.5, "EG": 2.5, "NG": 2.5}
BUSINESS_W = {"US": 35, "GB": 10, "DE": 8, "CA": 6, "AU": 5, "FR": 5, "NL": 4, "IN": 6, "BR": 4, "ES": 3, "SE": 3,
              "IT": 3, "IL": 2, "SG": 2, "JP": 2, "MX": 2}


def organic(inc, name, label, kind, budget, copy_share=.03):
    pilot, _ = _organic_draw(inc, name, kind, 3000, inc.rng("pilot", name), label, copy_share)
    n = max(5, int(round(budget / max(pilot.expected().mean(), 1e-9))))
    for it in range(3):   # heavy-tailed volumes: re-size until the drawn population matches the budget
        pop, meta = _organic_draw(inc, name, kind, n, inc.rng("acct", name, it), label, copy_share)
        e = pop.expected().sum()
        if abs(e / budget - 1) < .03 or it == 2:
            break
        n = max(5, int(round(n * budget / e)))
    inc.register(pop, *meta)
    return pop


def _organic_draw(inc, name, kind, n, rng, label, copy_share):
    pop = Pop(inc, name, label, n)
    P = PROF_ID
    if kind == "mobile":
        cidx = rng.choice(len(C_CODE), size=n, p=norm(weights_for(MOBILE_TILT)))
    elif kind == "developer":
        cidx = rng.choice(len(C_CODE), size=n, p=norm(weights_for(TECH_TILT)))
    elif kind == "reseller":
        cidx = rng.choice(len(C_CODE), size=n, p=norm(weights_for(RESELLER_TILT)))
    elif kind == "saas":
        cidx = pick_codes(rng, n, BUSINESS_W)
    else:
        cidx = rng.choice(len(C_CODE), size=n, p=norm(C_W))
    pop.tzb = tz_for(rng, cidx)
    set_home(pop, rng, cidx)
    pop.mob_net = mob_for(rng, cidx)
    pop.office = office_for(inc, rng, cidx)
    set_lang(pop, rng, cidx)
    created = created_benign(rng, n, .92 if kind == "saas" else .78)
    pop.start_us = np.maximum(created, T0) + (rng.uniform(60, 3 * 3600, n) * 1e6).astype(np.int64)
    churn = rng.random(n) < .12
    life = rng.uniform(0, 1, n) * (T_END - pop.start_us)
    pop.end_us = np.where(churn, pop.start_us + life.astype(np.int64), T_END)
    email = emails(rng, cidx)
    card = cards(rng, n, .38)
    bill = objarr([C_CODE[c] for c in cidx.tolist()])
    expat = rng.random(n) < .03
    bill[expat] = np.array(C_CODE, dtype=object)[rng.integers(0, len(C_CODE), expat.sum())]
    org = objarr([None] * n)
    netp = np.zeros((n, 6))
    if kind in ("consumer", "mobile", "proxy"):
        prof = {"consumer": P["consumer"], "night": P["night"], "student": P["student"], "work": P["work"]}
        pw = [.56, .12, .18, .14] if kind != "mobile" else [.6, .25, .15, 0]
        pop.prof = np.array(list(prof.values()))[rng.choice(4, size=n, p=norm(pw))]
        pop.rate = np.clip(lognorm(rng, 2.4 if kind != "mobile" else 2.2, 1.05 if kind != "mobile" else .9, n), 1, 250)
        pop.pact = rng.beta(.55, 3.0, n) if kind != "mobile" else rng.beta(.6, 2.8, n)
        pop.sesslen = 1 + lognorm(rng, 1.6, .7, n)
        pop.gapmed = lognorm(rng, 45, .5, n)
        if kind == "consumer":
            mob = np.where(rng.random(n) < .35, rng.uniform(.1, .6, n), 0)
            off = np.where(rng.random(n) < .18, rng.uniform(.2, .7, n), 0)
            vpn = np.where(rng.random(n) < .04, rng.uniform(.3, .9, n), 0)
            netp[:, NT_MOB], netp[:, NT_OFFICE], netp[:, NT_VPN] = mob, off, vpn
            s = netp.sum(1)
            netp[s > .95] *= (.95 / s[s > .95])[:, None]
            netp[:, NT_HOME] = 1 - netp.sum(1)
            pop.ua_main = pick_ua(rng, [("desktop", .82), ("mobile_browser", .1), ("app", .08)], n)
            pop.ua_mob = pick_ua(rng, [("app", .55), ("mobile_browser", .45)], n)
            set_personas(pop, rng, {"general": .66 - copy_share, "student": .14, "writer": .07, "hobby": .06,
                                    "copy": copy_share + .01, "smalltalk": .06})
        elif kind == "mobile":
            netp[:, NT_MOB] = rng.uniform(.85, 1, n)
            netp[:, NT_HOME] = 1 - netp[:, NT_MOB]
            pop.ua_main = pick_ua(rng, [("app", .6), ("mobile_browser", .4)], n)
            pop.ua_mob = pop.ua_main
            card = cards(rng, n, .22)
            set_personas(pop, rng, {"general": .72 - copy_share, "student": .1, "copy": copy_share + .02, "smalltalk": .16})
        else:  # proxy / VPN privacy customers on the residential proxy pool
            netp[:, NT_PROXY] = .9
            netp[:, NT_HOME] = .1
            pop.rotate = rng.random(n) < .3
            pop.ua_main = pick_ua(rng, [("desktop", .85), ("mobile_browser", .15)], n)
            pop.ua_mob = pop.ua_main
            card = cards(rng, n, .35)
            email = emails(rng, cidx, [("proton.me", .2), ("tuta.io", .04)])
            set_personas(pop, rng, {"general": .55, "hobby": .15, "writer": .1, "student": .15, "smalltalk": .05})
        pop.sysp = np.where(rng.random(n) < .08, np.array(CUSTOM_SYS)[rng.integers(0, len(CUSTOM_SYS), n)], -1)
        set_models_consumer(pop, rng, np.arange(n), card)
    elif kind == "developer":
        sub = rng.choice(4, size=n, p=[.5, .38, .07, .05])   # 0 app, 1 interactive, 2 agent app, 3 serverless app
        app_like = sub != 1
        pop.prof = np.where(app_like, np.where(rng.random(n) < .55, P["flat"], P["work"]),
                            np.where(rng.random(n) < .7, P["work"], P["night"]))
        pop.rate = np.where(app_like, np.clip(lognorm(rng, 12, 1.3, n), 1, 600), np.clip(lognorm(rng, 5, .9, n), 1, 200))
        pop.pact = np.where(app_like, rng.beta(2, 1.5, n), rng.beta(1, 2.2, n))
        pop.sesslen = np.where(sub == 2, 1 + lognorm(rng, 4, .4, n),
                               np.where(app_like, 1 + lognorm(rng, 8, .8, n), 1 + lognorm(rng, 2.5, .6, n)))
        pop.gapmed = np.where(app_like, lognorm(rng, 3, .8, n), lognorm(rng, 40, .5, n))
        clouds = [NET.net("cloud", nm, cc) for nm, _a, cc, _p, k in FIXED_NETS if k == "cloud"]
        cw = np.array([{"Amazon AWS": 8, "Google Cloud": 4, "Microsoft Azure": 3, "DigitalOcean": 2.5,
                        "Hetzner Online": 2.5, "OVHcloud": 1.2, "Akamai Linode": 1, "Vultr": .8, "Oracle Cloud": .6,
                        "Tencent Cloud": .2}[NET.name[c]] for c in clouds])
        lists = []
        for i in range(n):
            if sub[i] in (0, 2):
                k = int(rng.integers(1, 4))
                home_cloud = clouds[rng.choice(len(clouds), p=norm(cw))]
                lists.append(inc.add_addr([home_cloud] * k, NET.v4_random(rng, [home_cloud] * k)))
            elif sub[i] == 3:
                c = clouds[rng.choice(len(clouds), p=norm(cw))]
                lists.append(inc.add_addr([c] * 40, NET.v4_random(rng, [c] * 40)))
            else:
                lists.append(np.zeros(1, np.int64) + inc.vpn_ids[0])
        pop.set_pools(lists)
        pop.rotate = sub == 3
        netp[app_like, NT_POOL] = 1
        off = np.where(rng.random(n) < .4, rng.uniform(.3, .8, n), 0)
        netp[~app_like, NT_OFFICE] = off[~app_like]
        netp[~app_like, NT_MOB] = .05
        netp[~app_like, NT_HOME] = 1 - netp[~app_like].sum(1)
        pop.ua_main = np.where(app_like | (rng.random(n) < .6), UA.sample(rng, "sdk", n), UA.sample(rng, "desktop", n))
        pop.ua_mob = pick_ua(rng, [("app", .6), ("mobile_browser", .4)], n)
        pop.persona = np.where(sub == 1, PERSONAS["dev_interactive"], np.where(sub == 2, PERSONAS["dev_agent"], PERSONAS["dev_app"]))
        pop.extra["app"] = rng.integers(0, len(DEV_APPS), n)
        pop.extra["agent_sys"] = rng.integers(0, len(SUPPORT_SYS), n)
        pop.sysp = np.where((sub == 1) & (rng.random(n) < .3), CUSTOM_SYS[10], -1)
        pop.lang_p[:] = 0
        card = cards(rng, n, .8)
        email = emails(rng, cidx)
        comp = rng.random(n) < .45
        email[comp] = company_domains(rng, comp.sum())
        # small teams: shared org, card, company domain, country, office
        team = np.nonzero(rng.random(n) < .15)[0]
        rng.shuffle(team)
        k = 0
        while k < len(team):
            sz = int(rng.integers(2, 9))
            mem = team[k:k + sz]
            k += sz
            lead = mem[0]
            org[mem] = f"org_{int(rng.integers(0, 1 << 48)):012x}"
            card[mem] = card[lead] if card[lead] is not None else f"pm_{int(rng.integers(0, 1 << 62)):016x}"
            email[mem] = company_domains(rng, 1)[0]
            for f in ("tzb", "office", "home_net", "mob_net"):
                getattr(pop, f)[mem] = getattr(pop, f)[lead]
            bill[mem] = bill[lead]
        set_models_pinned(pop, rng, np.arange(n))
    elif kind == "reseller":
        pop.prof = np.array([P["consumer"], P["work"], P["night"]])[rng.choice(3, size=n, p=[.4, .4, .2])]
        pop.rate = np.clip(lognorm(rng, 4, 1.1, n), 1, 300)
        pop.pact = rng.beta(.8, 2.2, n)
        pop.sesslen = 1 + lognorm(rng, 2.5, .7, n)
        pop.gapmed = lognorm(rng, 30, .6, n)
        netp[:, NT_POOL] = 1
        pop.set_shared_pool(inc.relay_pool)
        pop.rotate[:] = True
        pop.ua_main[:] = UA_RELAY
        pop.ua_mob[:] = UA_RELAY
        set_personas(pop, rng, {"dev_app": .25, "dev_interactive": .3, "general": .3, "student": .15})
        pop.extra["app"] = rng.integers(0, len(DEV_APPS), n)
        pop.extra["agent_sys"] = rng.integers(0, len(SUPPORT_SYS), n)
        card = cards(rng, n, 1.0)
        set_models_consumer(pop, rng, np.arange(n), card)
    elif kind == "saas":
        pop.prof[:] = P["business"]
        pop.rate = np.clip(lognorm(rng, 9, 1.25, n), 1, 600)
        pop.pact = rng.beta(4, 1.3, n)
        pop.sesslen = 1 + lognorm(rng, 3, .6, n)
        pop.gapmed = lognorm(rng, 25, .6, n)
        netp[:, NT_POOL] = 1
        pop.set_shared_pool(inc.saas_pool)
        pop.rotate[:] = True
        pop.ua_main[:] = UA_SAAS
        pop.ua_mob[:] = UA_SAAS
        pop.persona[:] = PERSONAS["saas"]
        card = cards(rng, n, 1.0)
        email = company_domains(rng, n)
        org = hexid(rng, n, "org_")
        pop.models(np.arange(n), [.5, .5, 0, 0], [.35, .35, 0, .3], RELEASE_DAY + rng.integers(0, 20, n))
    pop.netp = netp
    return pop, (created, email, card, bill, org)


# ----------------------------------------------------------------------------------
# hard negatives with their own structure
# ----------------------------------------------------------------------------------
def eval_org(inc, n=30):
    rng = inc.rng("acct", "eval-org")
    pop = Pop(inc, "eval-org", "hard_negative", n)
    created = T0 - (rng.uniform(60, 220, n) * DAY).astype(np.int64)
    pop.start_us = np.maximum(created, T0)
    pop.prof[:] = PROF_ID["flat"]
    pop.rate = lognorm(rng, 45, .3, n)
    pop.pact[:] = .93
    pop.sesslen = 1 + lognorm(rng, 35, .4, n)
    pop.gapmed = lognorm(rng, 6, .4, n)
    pop.gap_sigma = .5
    aws_us, hz_de = NET.net("cloud", "Amazon AWS", "US"), NET.net("cloud", "Hetzner Online", "DE")
    nat = inc.add_addr([aws_us] * 4 + [hz_de] * 2, NET.v4_random(rng, [aws_us] * 4 + [hz_de] * 2))
    pop.netp[:] = 0
    pop.netp[:, NT_POOL] = 1
    pop.set_shared_pool(nat)
    pop.ua_main[:] = UA_EVAL
    pop.persona[:] = PERSONAS["eval"]
    pop.models(np.arange(n), [.2, .35, .45, 0], [.1, .2, .25, .45], RELEASE_DAY)
    card = f"pm_{int(rng.integers(0, 1 << 62)):016x}"
    org = f"org_{int(rng.integers(0, 1 << 48)):012x}"
    inc.register(pop, created, ["meridian-evals.com"] * n, [card] * n, ["US"] * n, [org] * n)
    return pop


class Classroom(Pop):
    """University courses: signup bursts, lab sessions in lock-step from the campus NAT,
    shared assignment prompts, deadline spikes."""
    COURSES = [  # country, tz quarter-hours, students, labs [(weekday, local hour, hours)], deadline (weekday), start day, mail
        ("DE", 8, 110, [(1, 10.0, 1.5), (3, 14.0, 1.5)], 6, -30, "stud.uni-nordhafen.de"),
        ("US", -16, 140, [(0, 13.0, 1.25), (2, 13.0, 1.25)], 4, -25, "lakeshore.edu"),
        ("IN", 22, 90, [(4, 11.0, 2.0)], 0, 12, "smail.bit-bharatpur.ac.in"),
    ]

    def __init__(self, inc):
        rng = inc.rng("acct", "classroom")
        n = sum(c[2] for c in self.COURSES)
        super().__init__(inc, "classroom", "hard_negative", n)
        course = np.repeat(np.arange(len(self.COURSES)), [c[2] for c in self.COURSES])
        self.extra["course"] = course
        self.extra["week_off"] = np.array([-c[5] for c in self.COURSES])
        cidx = np.array([C_IDX[self.COURSES[c][0]] for c in course.tolist()])
        self.tzb = np.array([self.COURSES[c][1] for c in course.tolist()], np.int64)
        set_home(self, rng, cidx, household=.08)
        self.mob_net = mob_for(rng, cidx)
        created = np.array([T0 + self.COURSES[c][5] * DAY - int(rng.uniform(2, 40) * HOUR) for c in course.tolist()], np.int64)
        self.start_us = np.maximum(created, T0)
        self.prof[:] = PROF_ID["student"]
        self.rate = np.clip(lognorm(rng, 2.5, .7, n), 1, 40)
        self.pact = rng.beta(1, 3.5, n)
        self.sesslen = 1 + lognorm(rng, 2, .5, n)
        self.gapmed = lognorm(rng, 90, .5, n)
        lists = []
        self.nat = []
        for c, spec in enumerate(self.COURSES):
            edu = NET.key[f"edu:{spec[0]}"]
            self.nat.append(inc.add_addr([edu] * 6, NET.v4_random(rng, [edu] * 6)))
        self.set_pools([self.nat[c] for c in course.tolist()])
        self.netp[:] = 0
        self.netp[:, NT_HOME] = .62
        self.netp[:, NT_MOB] = .25
        self.netp[:, NT_POOL] = .13
        self.ua_main = pick_ua(rng, [("desktop", .8), ("mobile_browser", .2)], n)
        self.ua_mob = UA.sample(rng, "mobile_browser", n)
        self.persona[:] = PERSONAS["class"]
        self.models(np.arange(n), [.2, .8, 0, 0], [.2, .8, 0, 0], 10 ** 6)
        orgs = [f"org_{int(rng.integers(0, 1 << 48)):012x}" for _ in self.COURSES]
        inc.register(self, created, [self.COURSES[c][6] for c in course.tolist()], [None] * n,
                     [self.COURSES[c][0] for c in course.tolist()], [orgs[c] for c in course.tolist()])

    def pact_mult(self, d):
        course = self.extra["course"]
        ddl = np.array([c[4] for c in self.COURSES])[course]
        wdl = (WD0 + d + np.floor_divide(48 + self.tzb, 96)) % 7
        return np.where((wdl == ddl) | (wdl == (ddl - 1) % 7), 3.0, 1.0)

    def sessions(self, d, rng):
        S = super().sessions(d, rng)
        acc, st, nn, fo, bk = [], [], [], [], []
        if S is not None:
            acc.append(S["acct"]); st.append(S["start"]); nn.append(S["n"])
            fo.append(np.full(len(S["acct"]), -1)); bk.append(np.full(len(S["acct"]), -1))
        course = self.extra["course"]
        ds = T0 + d * DAY
        for c, spec in enumerate(self.COURSES):
            tzb = spec[1]
            for ld in (d - 1, d, d + 1):            # local days overlapping this UTC day
                wd = (WD0 + ld) % 7
                for (lwd, hour, dur) in spec[3]:
                    if wd != lwd:
                        continue
                    t0 = T0 + ld * DAY - tzb * 15 * MIN + int(hour * HOUR)
                    if not (ds - 3 * HOUR <= t0 < ds + DAY):
                        continue
                    mem = np.nonzero((course == c) & (self.start_us < t0) & (rng.random(self.n) < .85))[0]
                    k = len(mem)
                    acc.append(mem)
                    st.append(t0 + (rng.uniform(0, .35, k) * dur * HOUR).astype(np.int64))
                    nn.append(2 + rng.poisson(4, k))
                    fo.append(np.full(k, NT_POOL)); bk.append(np.full(k, B_CLASS.id))
        if not acc:
            return None
        return dict(acct=np.concatenate(acc), start=np.concatenate(st), n=np.concatenate(nn),
                    forced=np.concatenate(fo), bank=np.concatenate(bk))

    def expected(self):
        return super().expected() * 1.3 + 0.85 * 6 * 1.5 * (NDAYS / 7)


# ----------------------------------------------------------------------------------
# campaigns
# ----------------------------------------------------------------------------------
ATTACK_MAIL = [("gmail.com", .55), ("outlook.com", .2), ("hotmail.com", .1), ("yahoo.com", .08), ("proton.me", .07)]


def mail_from(rng, n, table):
    return objarr(np.array([d for d, _ in table], dtype=object)[rng.choice(len(table), size=n, p=norm([w for _, w in table]))])


def codes_from(rng, n, table):
    return objarr(np.array(list(table), dtype=object)[rng.choice(len(table), size=n, p=norm(list(table.values())))])


def shared_cards(rng, n, mean, lo, hi):
    order = rng.permutation(n)
    out = np.empty(n, dtype=object)
    k = 0
    while k < n:
        sz = int(np.clip(round(rng.normal(mean, (hi - lo) / 4)), lo, hi))
        out[order[k:k + sz]] = f"pm_{int(rng.integers(0, 1 << 62)):016x}"
        k += sz
    return out


def bulk_dc(inc, n):
    """Campaign 1: bulk accounts on a small datacenter pool, cards shared ~20x."""
    rng = inc.rng("acct", "bulk-dc")
    pop = Pop(inc, "bulk-dc", "attack", n)
    nb = max(1, int(np.ceil(n / 60)))
    bt = np.sort(rng.uniform(-3, 40, nb))
    sizes = rng.multinomial(n - nb, np.ones(nb) / nb) + 1
    created = []
    for t, s in zip(bt.tolist(), sizes.tolist()):
        created.append(T0 + int(t * DAY) + (np.cumsum(rng.exponential(90, s)) * 1e6).astype(np.int64))
    created = np.concatenate(created)
    pop.start_us = np.maximum(created + (rng.uniform(.5, 6, n) * HOUR).astype(np.int64), T0)
    pop.end_us = np.minimum(pop.start_us + (rng.uniform(5, 15, n) * DAY).astype(np.int64), T_END)
    pop.prof[:] = PROF_ID["flat"]
    pop.rate = np.clip(rng.normal(10, 1.2, n), 7, 13)
    pop.pact[:] = 1
    pop.sesslen[:] = 1
    pop.netp[:] = 0
    pop.netp[:, NT_POOL] = 1
    choices = [(NET.net("cloud", "Amazon AWS", "US"), .35), (NET.net("cloud", "Amazon AWS", "DE"), .1),
               (NET.net("cloud", "Hetzner Online", "DE"), .2), (NET.net("cloud", "Hetzner Online", "FI"), .1),
               (NET.net("cloud", "OVHcloud", "FR"), .15), (NET.net("cloud", "OVHcloud", "CA"), .1)]
    pool = inc.cloud_addrs(rng, choices, 24 + n // 50)
    pop.set_shared_pool(pool)
    pop.rotate[:] = True
    pop.ua_main = UA.sample(rng, "bulk_sdk", n)
    pop.persona[:] = PERSONAS["bulk"]
    tutor = sys_id("You are an expert tutor. Always explain your reasoning step by step before giving the final answer.")
    thorough = sys_id("You are a knowledgeable assistant. Be thorough.")
    pop.sysp = np.where(rng.random(n) < .4, np.array([SYS_HELPFUL, tutor, thorough])[rng.integers(0, 3, n)], -1)
    pop.models(np.arange(n), [0, .2, .8, 0], [0, .05, .25, .7], RELEASE_DAY)
    bill = codes_from(rng, n, {"US": .45, "GB": .12, "SG": .1, "DE": .08, "CA": .08, "AU": .07, "JP": .05, "NL": .05})
    inc.register(pop, created, mail_from(rng, n, ATTACK_MAIL), shared_cards(rng, n, 20, 14, 26), bill, [None] * n)
    return pop


class Hydra(Pop):
    """Campaign 2: synchronised waves through a rotating residential proxy pool."""
    WAVES = np.array([2.2, 8.1, 13.7, 19.4])

    def sessions(self, d, rng):
        ds = T0 + d * DAY
        alive = np.nonzero((self.start_us < ds + DAY) & (self.end_us > ds))[0]
        if len(alive) == 0:
            return None
        w = self.WAVES + rng.normal(0, .35, 4)
        if rng.random() < .5:
            w = np.delete(w, rng.integers(4))
        acc, st, nn = [], [], []
        for h in w.tolist():
            t0 = ds + int(h * HOUR)
            mem = alive[rng.random(len(alive)) < .85]
            acc.append(mem)
            st.append(t0 + rng.integers(0, 8 * MIN, len(mem)))
            nn.append(1 + rng.poisson(.65, len(mem)))
        return dict(acct=np.concatenate(acc), start=np.concatenate(st), n=np.concatenate(nn))

    def expected(self):
        alive = np.clip((self.end_us - np.maximum(self.start_us, T0)) / DAY, 0, NDAYS)
        return 3.5 * .85 * 1.65 * alive


def hydra(inc, n):
    rng = inc.rng("acct", "hydra")
    pop = Hydra(inc, "hydra", "attack", n)
    created = T0 + (rng.uniform(-5, 37, n) * DAY).astype(np.int64)
    pop.start_us = np.maximum(created + (rng.uniform(1, 48, n) * HOUR).astype(np.int64), T0)
    pop.end_us = np.minimum(pop.start_us + (rng.uniform(8, 25, n) * DAY).astype(np.int64), T_END)
    pop.gapmed = lognorm(rng, 30, .4, n)
    pop.gap_sigma = .5
    pop.netp[:] = 0
    pop.netp[:, NT_PROXY] = 1
    pop.rotate[:] = True
    pop.ua_main = pick_ua(rng, [("desktop", .8), ("mobile_browser", .2)], n)
    pop.persona[:] = PERSONAS["hydra"]
    pop.models(np.arange(n), [0, .25, .75, 0], [0, .1, .3, .6], RELEASE_DAY)
    cidx = rng.choice(len(C_CODE), size=n, p=norm(C_W))
    inc.register(pop, created, emails(rng, cidx), cards(rng, n, 1.0), objarr([C_CODE[c] for c in cidx.tolist()]), [None] * n)
    return pop


def low_slow(inc, n):
    """Campaign 3: no shared infrastructure; one residential address per account; UTC+8 office hours."""
    rng = inc.rng("acct", "low-slow")
    pop = Pop(inc, "low-slow", "attack", n)
    cidx = pick_codes(rng, n, {"US": .3, "GB": .1, "CA": .08, "AU": .08, "DE": .08, "JP": .07, "SG": .06, "FR": .05,
                               "NL": .05, "KR": .04, "TW": .04, "IT": .05})
    created = T0 + (rng.uniform(-10, 28, n) * DAY).astype(np.int64)
    pop.start_us = np.maximum(created + (rng.uniform(2, 72, n) * HOUR).astype(np.int64), T0)
    pop.tzb[:] = 32
    pop.prof[:] = PROF_ID["office"]
    pop.rate = np.clip(lognorm(rng, 5, .3, n), 3, 9)
    pop.pact[:] = .92
    pop.sesslen = 1 + lognorm(rng, 1.5, .4, n)
    pop.gapmed = lognorm(rng, 150, .5, n)
    # uniformly over the country's ISPs: spread across as many providers as possible
    isp = np.empty(n, np.int64)
    for c in np.unique(cidx).tolist():
        idx = np.nonzero(cidx == c)[0]
        isp[idx] = NET.c_isps[c][rng.integers(0, len(NET.c_isps[c]), len(idx))]
    pop.home_net = isp
    pop.home_key = rng.integers(0, 1 << 62, n, dtype=np.int64).astype(np.uint64)
    pop.ua_main = pick_ua(rng, [("desktop", .7), ("sdk", .3)], n)
    pop.persona[:] = PERSONAS["lowslow"]
    pop.models(np.arange(n), [0, .3, .7, 0], [0, .1, .3, .6], RELEASE_DAY)
    inc.register(pop, created, emails(rng, cidx), cards(rng, n, 1.0), objarr([C_CODE[c] for c in cidx.tolist()]), [None] * n)
    return pop


def agentic(inc, n):
    """Campaign 4: tool-use episodes from cloud VMs, posing as small dev teams."""
    rng = inc.rng("acct", "agentic")
    pop = Pop(inc, "agentic", "attack", n)
    team = np.arange(n) // 10
    nt = int(team.max()) + 1
    bt = np.array([-2, 9, 20])[rng.integers(0, 3, nt)]
    created = T0 + ((bt[team] + rng.uniform(0, .3, n)) * DAY).astype(np.int64)
    pop.start_us = np.maximum(created + (rng.uniform(1, 24, n) * HOUR).astype(np.int64), T0)
    pop.prof[:] = PROF_ID["flat"]
    pop.rate = lognorm(rng, 18, .3, n)
    pop.pact[:] = .93
    pop.sesslen = 1 + lognorm(rng, 4.5, .3, n)
    pop.gapmed = lognorm(rng, 4, .4, n)
    pop.gap_sigma = .5
    vms = [(NET.net("cloud", "DigitalOcean", "US"), 1), (NET.net("cloud", "Vultr", "US"), 1),
           (NET.net("cloud", "Akamai Linode", "US"), 1), (NET.net("cloud", "Amazon AWS", "US"), 1.5),
           (NET.net("cloud", "Hetzner Online", "DE"), 1)]
    tpool = [inc.cloud_addrs(rng, [vms[rng.integers(len(vms))]], int(rng.integers(2, 4))) for _ in range(nt)]
    pop.set_pools([tpool[t] for t in team.tolist()])
    pop.netp[:] = 0
    pop.netp[:, NT_POOL] = 1
    pop.rotate[:] = True
    tua = UA.sample(rng, "agent_sdk", nt)
    pop.ua_main = tua[team]
    pop.persona[:] = PERSONAS["agent_c"]
    pop.extra["agent_sys"] = rng.integers(0, len(AGENT_C_SYS), nt)[team]
    pop.models(np.arange(n), [0, .3, .7, 0], [0, .1, .3, .6], RELEASE_DAY)
    tmail = np.where(rng.random(nt) < .5, company_domains(rng, nt), "gmail.com")
    tcard = hexid(rng, nt, "pm_")
    torg = hexid(rng, nt, "org_")
    tbill = codes_from(rng, nt, {"US": .5, "GB": .25, "SG": .25})
    inc.register(pop, created, tmail[team], tcard[team], tbill[team], torg[team])
    return pop


def relay_campaign(inc, n):
    """Campaign 5: harvesting through a third-party API relay shared with ordinary customers."""
    rng = inc.rng("acct", "relay")
    pop = Pop(inc, "relay", "attack", n)
    burst = rng.uniform(-5, 25, max(1, n // 8))
    created = T0 + ((burst[rng.integers(0, len(burst), n)] + rng.uniform(0, .25, n)) * DAY).astype(np.int64)
    pop.start_us = np.maximum(created + (rng.uniform(1, 24, n) * HOUR).astype(np.int64), T0)
    pop.end_us = np.minimum(pop.start_us + (rng.uniform(10, 30, n) * DAY).astype(np.int64), T_END)
    pop.tzb[:] = 32
    pop.prof[:] = PROF_ID["relayday"]
    pop.rate = lognorm(rng, 12, .3, n)
    pop.pact[:] = .9
    pop.sesslen = 1 + lognorm(rng, 2, .5, n)
    pop.gapmed = lognorm(rng, 30, .5, n)
    pop.netp[:] = 0
    pop.netp[:, NT_POOL] = 1
    pop.set_shared_pool(inc.relay_pool)
    pop.rotate[:] = True
    pop.ua_main[:] = UA_RELAY
    pop.persona[:] = PERSONAS["relay"]
    pop.sysp = np.where(rng.random(n) < .5, SYS_HELPFUL, -1)
    pop.models(np.arange(n), [0, .25, .75, 0], [0, .1, .3, .6], RELEASE_DAY)
    bill = codes_from(rng, n, {"SG": .25, "MY": .15, "US": .2, "JP": .1, "GB": .1, "AU": .1, "TW": .1})
    inc.register(pop, created, mail_from(rng, n, [("gmail.com", .5), ("outlook.com", .2), ("hotmail.com", .15),
                                                  ("yahoo.com", .1), ("proton.me", .05)]),
                 shared_cards(rng, n, 4, 3, 5), bill, [None] * n)
    return pop


FARM_DOMAINS = ["northwillow.net", "kestrelmail.com", "bluefernstudio.com", "orchardlane.co", "pinecrestmail.net",
                "harborlight.io", "copperleafmedia.com", "stillwaterhq.com", "amberfieldmail.com", "riverbendlabs.net",
                "sunmeadow.co", "graniteowl.com", "lanternhillmail.com", "quietcove.net"]


def mobile_farm(inc, n):
    """Campaign 6 (C): 4G/5G modem farm on US carriers, free-tier churn-and-burn accounts."""
    rng = inc.rng("acct", "mobile-farm")
    pop = Pop(inc, "mobile-farm", "attack", n)
    created = T0 + (rng.uniform(-1, 42, n) * DAY).astype(np.int64)
    pop.start_us = np.maximum(created + (rng.uniform(5, 120, n) * MIN).astype(np.int64), T0)
    pop.end_us = np.minimum(pop.start_us + (rng.uniform(2, 4.5, n) * DAY).astype(np.int64), T_END)
    pop.tzb[:] = -16
    pop.prof[:] = PROF_ID["farm"]
    pop.rate = np.clip(lognorm(rng, 20, .15, n), 14, 25)
    pop.daycap = 25         # the free tier's daily message limit
    pop.pact[:] = .97
    pop.sesslen = 1 + lognorm(rng, 4, .4, n)
    pop.gapmed = lognorm(rng, 35, .5, n)
    pop.netp[:] = 0
    pop.netp[:, NT_MOB] = 1
    us = C_IDX["US"]
    tmo, att = NET.c_mobs[us][0], NET.c_mobs[us][2]
    pop.mob_net = np.where(rng.random(n) < .6, tmo, att)
    pop.rotate[:] = True
    pop.ua_main = UA.sample(rng, "android_app", n)
    pop.ua_mob = pop.ua_main
    pop.persona[:] = PERSONAS["farm"]
    pop.models(np.arange(n), [.05, .95, 0, 0], [.05, .85, 0, .1], RELEASE_DAY)
    mail = np.where(rng.random(n) < .7, np.array(FARM_DOMAINS, dtype=object)[rng.integers(0, len(FARM_DOMAINS), n)], "gmail.com")
    inc.register(pop, created, mail, [None] * n, ["US"] * n, [None] * n)
    return pop


def aged_takeover(inc, n):
    """Campaign 7 (C): bought/taken-over aged accounts; benign history, then geo-matched harvesting."""
    rng = inc.rng("acct", "aged")
    cidx = rng.choice(len(C_CODE), size=n, p=norm(weights_for({"US": 1.5, "GB": 1.5, "CA": 1.5, "AU": 1.5, "DE": 1.3})))
    created = T0 - (rng.uniform(180, 900, n) * DAY).astype(np.int64)
    card = cards(rng, n, .7)
    lots = rng.uniform(3, 35, max(1, n // 25))
    take = T0 + ((lots[rng.integers(0, len(lots), n)] + rng.uniform(0, .5, n)) * DAY).astype(np.int64)
    tz = tz_for(rng, cidx)
    pre = Pop(inc, "aged-pre", "attack", n)
    pre.tzb = tz
    set_home(pre, rng, cidx, household=0)
    pre.end_us = take
    pre.prof[:] = PROF_ID["consumer"]
    pre.rate = np.clip(lognorm(rng, 1.8, .5, n), 1, 10)
    pre.pact = rng.beta(.6, 5, n)
    pre.sesslen = 1 + lognorm(rng, 1.5, .6, n)
    pre.gapmed = lognorm(rng, 45, .5, n)
    pre.ua_main = UA.sample(rng, "desktop", n)
    set_personas(pre, rng, {"general": .8, "writer": .1, "student": .1})
    set_lang(pre, rng, cidx)
    set_models_consumer(pre, rng, np.arange(n), card)
    inc.register(pre, created, emails(rng, cidx), card, objarr([C_CODE[c] for c in cidx.tolist()]), [None] * n,
                 group="aged-takeover")
    post = Pop(inc, "aged-post", "attack", n)
    post.gid = pre.gid
    post.tzb = tz
    post.start_us = take + (rng.uniform(1, 24, n) * HOUR).astype(np.int64)
    post.end_us = np.minimum(post.start_us + (rng.uniform(10, 30, n) * DAY).astype(np.int64), T_END)
    post.prof[:] = PROF_ID["consumer"]
    post.rate = lognorm(rng, 16, .25, n)
    post.pact[:] = .95
    post.sesslen = 1 + lognorm(rng, 3.5, .3, n)
    post.gapmed = lognorm(rng, 50, .5, n)
    # geo-matched residential proxies: 2 ISP addresses in the owner's country
    lists = []
    for i in range(n):
        nets = isp_for(rng, np.array([cidx[i], cidx[i]]))
        lists.append(inc.add_addr(nets, NET.v4_random(rng, nets)))
    post.set_pools(lists)
    post.netp[:] = 0
    post.netp[:, NT_POOL] = 1
    post.ua_main = UA.sample(rng, "desktop", n)
    post.persona[:] = PERSONAS["aged"]
    paid = card != None  # noqa: E711
    post.mpre[:] = np.where(paid[:, None], norm([0, .25, .75, 0]), norm([0, 1, 0, 0]))
    post.mpost[:] = np.where(paid[:, None], norm([0, .1, .3, .6]), norm([0, .85, 0, .15]))
    post.adopt[:] = RELEASE_DAY
    return pre, post        # `post` shares the account ids registered through `pre`


# ----------------------------------------------------------------------------------
# incidents
# ----------------------------------------------------------------------------------
def background(inc, budget, copy_share=.03):
    return [organic(inc, "consumer", "benign", "consumer", .58 * budget, copy_share),
            organic(inc, "mobile", "benign", "mobile", .14 * budget, copy_share),
            organic(inc, "developer", "benign", "developer", .28 * budget)]


def build_A(inc):
    R = inc.rows
    n_camp = max(6, int(round(R * 2300 / 1.2e6)))
    nb = int(round(n_camp * 2 / 3))
    nh = n_camp - nb
    inc.build_proxy(max(1500, nh * 6))
    pops = [bulk_dc(inc, nb), hydra(inc, nh), eval_org(inc, 30)]
    used = sum(p.expected().sum() for p in pops)
    proxy_b = .035 * R
    pops.append(organic(inc, "proxy-users", "hard_negative", "proxy", proxy_b))
    pops += background(inc, max(R - used - proxy_b, .2 * R))
    inc.pops.extend(pops)


def build_B(inc):
    R = inc.rows
    s = R / 5e5
    r = inc.rng("relay-infra")
    nets = [NET.net("cloud", "Tencent Cloud", "SG")] * 4 + [NET.net("cloud", "Vultr", "JP")] * 2 + \
           [NET.net("cloud", "DigitalOcean", "SG")] * 2
    inc.relay_pool = inc.add_addr(nets, NET.v4_random(r, nets))
    pops = [low_slow(inc, max(5, int(round(470 * s)))), agentic(inc, max(10, int(round(60 * s)))),
            relay_campaign(inc, max(5, int(round(170 * s)))), eval_org(inc, 30)]
    used = sum(p.expected().sum() for p in pops)
    res_b = .08 * R
    pops.append(organic(inc, "reseller-customers", "hard_negative", "reseller", res_b))
    pops += background(inc, max(R - used - res_b, .2 * R), copy_share=.08)
    inc.pops.extend(pops)


def build_C(inc):
    R = inc.rows
    s = R / 1e6
    r = inc.rng("saas-infra")
    nets = [NET.net("cloud", "Amazon AWS", "US")] * 8 + [NET.net("cloud", "Google Cloud", "NL")] * 4
    inc.saas_pool = inc.add_addr(nets, NET.v4_random(r, nets))
    pops = [mobile_farm(inc, max(5, int(round(900 * s))))]
    pops += list(aged_takeover(inc, max(5, int(round(300 * s)))))
    pops.append(Classroom(inc))
    used = sum(p.expected().sum() for p in pops)
    saas_b = .06 * R
    pops.append(organic(inc, "byok-saas", "hard_negative", "saas", saas_b))
    pops += background(inc, max(R - used - saas_b, .2 * R))
    inc.pops.extend(pops)


BUILD = {"A": (build_A, 1_200_000), "B": (build_B, 500_000), "C": (build_C, 1_000_000)}
SYS_TOK = None
SCHEMA_COLS = ["request_id", "timestamp", "account_id", "ip", "asn", "country", "user_agent", "model",
               "input_tokens", "output_tokens", "prompt", "system_prompt"]


def fmt_v6(net, hi, lo):
    return [f"{NET.V6[n]}:{h >> 16:x}:{h & 0xffff:x}:{l >> 48:x}:{(l >> 32) & 0xffff:x}:{(l >> 16) & 0xffff:x}:{l & 0xffff:x}"
            for n, h, l in zip(net.tolist(), (hi & np.uint64(0xFFFFFFFF)).tolist(), lo.tolist())]


def generate(letter, out, rows, seed, quiet=False):
    global SYS_TOK
    t_start = time.time()
    inc = Incident(letter, rows, seed)
    BUILD[letter][0](inc)
    inc.finalize()
    st = pl.Series(SYS, dtype=pl.Utf8)
    SYS_TOK = np.append(np.ceil(st.str.len_chars().to_numpy() * .25).astype(np.int64), 0)
    sys_arr = objarr(SYS + [None])
    ua_arr = objarr(UA.s)
    model_arr = objarr(MODELS)
    salt = int(mix64(np.array([seed * 1000003 + ord(letter)], dtype=np.uint64))[0])
    acct_ids = objarr([f"acct_{x:016x}" for x in mix64(np.arange(inc.n_acc, dtype=np.uint64) ^ np.uint64(salt)).tolist()])
    logdir = os.path.join(out, "logs")
    os.makedirs(logdir, exist_ok=True)
    for f in sorted(os.listdir(logdir)):
        if f.endswith(".parquet"):
            os.remove(os.path.join(logdir, f))
    per_acc = np.zeros(inc.n_acc, np.int64)
    total = 0
    rid_salt = np.uint64(int(mix64(np.array([salt ^ 0x5EED], dtype=np.uint64))[0]))
    for d in range(NDAYS):
        parts = [x for x in (p.day_rows(d) for p in inc.pops) if x is not None]
        cat = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        seq = np.arange(len(cat["ts"]))
        order = np.lexsort((seq, cat["gid"], cat["ts"]))
        cat = {k: v[order] for k, v in cat.items()}
        n = len(order)
        v4 = cat["v4"]
        ipdf = pl.DataFrame({"a": v4 >> 24, "b": (v4 >> 16) & 255, "c": (v4 >> 8) & 255, "e": v4 & 255}).select(
            pl.concat_str([pl.col(x).cast(pl.Utf8) for x in "abce"], separator=".").alias("ip"))
        ip = ipdf["ip"]
        i6 = np.nonzero(cat["v6"])[0]
        if len(i6):
            ip = ip.scatter(i6, fmt_v6(cat["net"][i6], cat["hi"][i6], cat["lo"][i6]))
        rid = mix64((np.uint64(d) << np.uint64(32)) | np.arange(n, dtype=np.uint64)) ^ rid_salt
        df = pl.DataFrame({
            "request_id": pl.Series([f"req_{x:016x}" for x in rid.tolist()], dtype=pl.Utf8),
            "timestamp": pl.Series(cat["ts"], dtype=pl.Int64).cast(pl.Datetime("us")).dt.replace_time_zone("UTC"),
            "account_id": pl.Series(acct_ids[cat["gid"]].tolist(), dtype=pl.Utf8),
            "ip": ip,
            "asn": pl.Series(NET.ASN[cat["net"]], dtype=pl.Int64),
            "country": pl.Series(NET.CC[cat["net"]].tolist(), dtype=pl.Utf8),
            "user_agent": pl.Series(ua_arr[cat["ua"]].tolist(), dtype=pl.Utf8),
            "model": pl.Series(model_arr[cat["model"]].tolist(), dtype=pl.Utf8),
            "input_tokens": pl.Series(cat["itok"], dtype=pl.Int64),
            "output_tokens": pl.Series(cat["otok"], dtype=pl.Int64),
            "prompt": pl.Series(cat["prompt"].tolist(), dtype=pl.Utf8),
            "system_prompt": pl.Series(sys_arr[cat["sys"]].tolist(), dtype=pl.Utf8),
        })
        day = datetime.fromtimestamp((T0 + d * DAY) / 1e6, tz=timezone.utc).strftime("%Y-%m-%d")
        df.write_parquet(os.path.join(logdir, f"{day}.parquet"), compression="zstd", statistics=True)
        per_acc += np.bincount(cat["gid"], minlength=inc.n_acc)
        total += n
        if not quiet and (d + 1) % 15 == 0:
            print(f"  day {d + 1:2d}/{NDAYS}  rows so far {total:,}  ({time.time() - t_start:.0f}s)", file=sys.stderr)
    m = inc.meta
    cat = lambda k: np.concatenate(m[k])
    acc = pl.DataFrame({
        "account_id": pl.Series(acct_ids.tolist(), dtype=pl.Utf8),
        "created_at": pl.Series(cat("created"), dtype=pl.Int64).cast(pl.Datetime("us")).dt.replace_time_zone("UTC"),
        "email_domain": pl.Series(cat("email").tolist(), dtype=pl.Utf8),
        "payment_fingerprint": pl.Series(cat("pay").tolist(), dtype=pl.Utf8),
        "billing_country": pl.Series(cat("bill").tolist(), dtype=pl.Utf8),
        "org_id": pl.Series(cat("org").tolist(), dtype=pl.Utf8),
    })
    lab = pl.DataFrame({"account_id": pl.Series(acct_ids.tolist(), dtype=pl.Utf8),
                        "label": pl.Series(cat("label").tolist(), dtype=pl.Utf8),
                        "group": pl.Series(cat("group").tolist(), dtype=pl.Utf8),
                        "_rows": per_acc})
    acc.sort("account_id").write_parquet(os.path.join(out, "accounts.parquet"), compression="zstd", statistics=True)
    lab.filter(pl.col("_rows") > 0).drop("_rows").sort("account_id").write_parquet(
        os.path.join(out, "labels.parquet"), compression="zstd", statistics=True)
    summ = (lab.group_by("label", "group")
            .agg(pl.len().alias("accounts"), (pl.col("_rows") > 0).sum().alias("active_accounts"),
                 pl.col("_rows").sum().alias("rows"))
            .sort("label", "group"))
    return total, summ, time.time() - t_start


LOG_SCHEMA = {"request_id": pl.Utf8, "timestamp": pl.Datetime("us", "UTC"), "account_id": pl.Utf8, "ip": pl.Utf8,
              "asn": pl.Int64, "country": pl.Utf8, "user_agent": pl.Utf8, "model": pl.Utf8, "input_tokens": pl.Int64,
              "output_tokens": pl.Int64, "prompt": pl.Utf8, "system_prompt": pl.Utf8}
ACC_SCHEMA = {"account_id": pl.Utf8, "created_at": pl.Datetime("us", "UTC"), "email_domain": pl.Utf8,
              "payment_fingerprint": pl.Utf8, "billing_country": pl.Utf8, "org_id": pl.Utf8}
LAB_SCHEMA = {"account_id": pl.Utf8, "label": pl.Utf8, "group": pl.Utf8}


def verify(out):
    """Schema and consistency checks of a generated directory; returns a list of problems."""
    bad = []
    logs = pl.scan_parquet(os.path.join(out, "logs", "*.parquet"))
    if dict(logs.collect_schema()) != LOG_SCHEMA:
        bad.append(f"log schema {dict(logs.collect_schema())}")
    acc = pl.read_parquet(os.path.join(out, "accounts.parquet"))
    lab = pl.read_parquet(os.path.join(out, "labels.parquet"))
    if dict(acc.schema) != ACC_SCHEMA:
        bad.append(f"accounts schema {acc.schema}")
    if dict(lab.schema) != LAB_SCHEMA:
        bad.append(f"labels schema {lab.schema}")
    st = logs.select(pl.len().alias("n"), pl.col("request_id").n_unique().alias("u"),
                     pl.col("timestamp").min().alias("t0"), pl.col("timestamp").max().alias("t1"),
                     pl.col("account_id").n_unique().alias("na"),
                     *[pl.col(c).null_count().alias("null_" + c) for c in LOG_SCHEMA if c != "system_prompt"]).collect().row(0, named=True)
    if st["n"] != st["u"]:
        bad.append("request_id not unique")
    if st["t0"].timestamp() * 1e6 < T0 or st["t1"].timestamp() * 1e6 >= T_END:
        bad.append("timestamps outside window")
    for k, v in st.items():
        if k.startswith("null_") and v:
            bad.append(f"{v} nulls in {k[5:]}")
    ids = logs.select(pl.col("account_id").unique()).collect()
    if ids.join(lab, on="account_id", how="anti").height:
        bad.append("log accounts without label")
    if lab.join(ids, on="account_id", how="anti").height:
        bad.append("labelled accounts without rows")
    if ids.join(acc, on="account_id", how="anti").height:
        bad.append("log accounts missing from accounts.parquet")
    if acc["account_id"].n_unique() != acc.height or not set(lab["label"].unique()) <= {"attack", "hard_negative", "benign"}:
        bad.append("account table / label values")
    return bad


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--incident", required=True, choices=sorted(BUILD))
    ap.add_argument("--out", required=True)
    ap.add_argument("--rows", type=int, default=None, help="approximate total rows (default: A 1.2M, B 0.5M, C 1M)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--verify", action="store_true", help="re-read the output and check schema and consistency")
    a = ap.parse_args(argv)
    rows = a.rows or BUILD[a.incident][1]
    total, summ, secs = generate(a.incident, a.out, rows, a.seed)
    with pl.Config(tbl_rows=50, tbl_hide_dataframe_shape=True, tbl_hide_column_data_types=True):
        print(summ)
    print(f"incident {a.incident}: {total:,} rows in {secs:.1f}s -> {a.out}")
    if a.verify:
        bad = verify(a.out)
        print("verify: OK" if not bad else "verify: FAILED\n  " + "\n  ".join(bad))
        if bad:
            sys.exit(1)


if __name__ == "__main__":
    main()
