"""A fixed corpus for the precision gate, generated from a seed instead of stored: passages and queries in ten topics.

The gate compares a candidate precision's vectors with fp32's on these texts, so they must look like what the
endpoint embeds (mostly single sentences, some titles of a few words, a few paragraphs of up to about 100 words)
and give each query real neighbours: a query shares its topic and a subject with some passages, and the passages of
one topic differ enough in wording that their ranking is not a tie a rounding error could reorder at will. The
templates make topical sentences, not always sensible ones; that is enough for ranking. A seeded `random.Random`
gives the same texts on every machine, and nothing is downloaded; should a Python release change its choice
algorithms, the gate would simply judge on other texts of the same kind.
"""

from __future__ import annotations

import random
from typing import NamedTuple


class Topic(NamedTuple):
    """One subject area: things it talks about, what happens to them, and the circumstances."""

    name: str
    subjects: tuple[str, ...]
    actions: tuple[str, ...]
    details: tuple[str, ...]
    questions: tuple[str, ...]


TOPICS = (
    Topic(
        "cooking",
        (
            "sourdough bread",
            "a slow-cooked beef stew",
            "fresh egg pasta",
            "a lemon tart",
            "vegetable stock",
            "roast chicken",
            "a mushroom risotto",
            "homemade yoghurt",
            "a chocolate souffle",
            "pickled red onions",
            "a Thai green curry",
            "buttermilk pancakes",
        ),
        (
            "needs a long proof at room temperature",
            "tastes better the day after it is made",
            "should rest before it is sliced",
            "burns easily if the oven runs hot",
            "keeps for a week in the fridge",
            "can be frozen in small portions",
            "turns grainy when the heat is too high",
            "is best seasoned at the very end",
            "collapses if the door is opened too early",
            "depends on the quality of the butter",
        ),
        (
            "according to the recipe my grandmother left",
            "when you cook at high altitude",
            "if you replace half the flour with rye",
            "with a pinch of smoked salt",
            "in a cast-iron pot",
            "for a dinner party of eight",
            "without any dairy",
            "using a digital thermometer",
        ),
        (
            "how long should {s} rest before serving",
            "why does {s} go wrong in my oven",
            "can I freeze {s}",
            "what is the secret to {s}",
        ),
    ),
    Topic(
        "astronomy",
        (
            "the Andromeda galaxy",
            "a total solar eclipse",
            "the rings of Saturn",
            "a red dwarf star",
            "the Perseid meteor shower",
            "a supermassive black hole",
            "the surface of Mars",
            "the cosmic microwave background",
            "a newly discovered exoplanet",
            "the phases of the Moon",
            "a distant quasar",
            "Jupiter's largest moon",
        ),
        (
            "is visible to the naked eye on a clear night",
            "was first photographed by a space telescope",
            "emits most of its light in the infrared",
            "moves across the sky faster than expected",
            "helps astronomers measure cosmic distances",
            "was studied by a team of radio astronomers",
            "puzzles researchers because of its unusual orbit",
            "appears brighter during the winter months",
            "can be observed with a small backyard telescope",
            "formed billions of years ago",
        ),
        (
            "from the southern hemisphere",
            "far from city lights",
            "according to a paper published last spring",
            "through a pair of binoculars",
            "during the next new moon",
            "as seen from the International Space Station",
            "in the latest observation campaign",
            "with an exposure of several minutes",
        ),
        (
            "when can I see {s}",
            "what do scientists know about {s}",
            "how far away is {s}",
            "why is {s} important for astronomy",
        ),
    ),
    Topic(
        "personal finance",
        (
            "an emergency savings fund",
            "a fixed-rate mortgage",
            "a retirement pension plan",
            "credit card debt",
            "an index fund",
            "the household budget",
            "a student loan",
            "a high-interest savings account",
            "capital gains tax",
            "a monthly rent payment",
            "a car lease",
            "government bonds",
        ),
        (
            "should cover at least three months of expenses",
            "becomes cheaper when interest rates fall",
            "grows faster if you start contributing early",
            "can cost far more than most people expect",
            "spreads the risk across many companies",
            "helps you see where the money actually goes",
            "can be paid off sooner with extra instalments",
            "pays a better rate than a current account",
            "is due when you sell an investment at a profit",
            "takes up almost a third of a typical salary",
        ),
        (
            "for a young family with two incomes",
            "after the central bank raised rates again",
            "if you are self-employed",
            "according to a financial adviser",
            "during a period of high inflation",
            "when you change jobs",
            "before the end of the tax year",
            "with automatic monthly transfers",
        ),
        (
            "how much should I put into {s}",
            "is {s} a good idea right now",
            "how do I get rid of {s}",
            "what are the risks of {s}",
        ),
    ),
    Topic(
        "health",
        (
            "regular aerobic exercise",
            "a good night's sleep",
            "high blood pressure",
            "seasonal allergies",
            "a sprained ankle",
            "vitamin D deficiency",
            "chronic lower back pain",
            "type 2 diabetes",
            "a persistent dry cough",
            "a migraine headache",
            "iron-rich foods",
            "mindfulness meditation",
        ),
        (
            "lowers the risk of heart disease",
            "improves concentration during the day",
            "often goes unnoticed for years",
            "gets worse when pollen counts are high",
            "usually heals within a few weeks with rest",
            "is common in people who spend little time outdoors",
            "can be eased by gentle stretching",
            "is managed with diet, exercise and medication",
            "should be checked by a doctor if it lasts",
            "can be triggered by stress or lack of sleep",
        ),
        (
            "in adults over fifty",
            "according to the latest clinical guidelines",
            "for office workers who sit all day",
            "in children and teenagers",
            "during pregnancy",
            "after a long illness",
            "as recommended by a physiotherapist",
            "in a large study of nurses",
        ),
        (
            "what helps with {s}",
            "is {s} dangerous",
            "how can I recognise {s}",
            "what are the benefits of {s}",
        ),
    ),
    Topic(
        "software engineering",
        (
            "the continuous integration pipeline",
            "a memory leak in the web server",
            "the database migration script",
            "unit tests for the payment service",
            "a race condition in the job scheduler",
            "the public REST API",
            "the Kubernetes deployment",
            "a slow SQL query",
            "the authentication middleware",
            "the release branch",
            "code review comments",
            "the message queue consumer",
        ),
        (
            "fails intermittently on the build server",
            "was refactored to remove duplicated logic",
            "needs a rollback plan before it runs in production",
            "only appears under heavy concurrent load",
            "must stay backwards compatible for existing clients",
            "was sped up by adding an index",
            "rejects expired tokens with a clear error",
            "should be merged only after the tests pass",
            "retries failed messages with exponential backoff",
            "exposes metrics for the monitoring dashboard",
        ),
        (
            "after the upgrade to the new framework version",
            "in the staging environment",
            "according to the incident report",
            "written in Python and Go",
            "before the Friday release",
            "when two replicas start at the same time",
            "as described in the architecture decision record",
            "with feature flags turned off",
        ),
        (
            "how do I debug {s}",
            "why does {s} keep failing",
            "what is the best practice for {s}",
            "who owns {s}",
        ),
    ),
    Topic(
        "travel",
        (
            "a night train across the Alps",
            "a budget flight to Lisbon",
            "a hiking trail in Patagonia",
            "the old town of Kyoto",
            "a ferry to the Greek islands",
            "a road trip along the Pacific coast",
            "a hostel in Berlin",
            "travel insurance",
            "a visa for a long stay",
            "a guided tour of the Amazon rainforest",
            "the airport security check",
            "a beach resort in Bali",
        ),
        (
            "sells out months before the summer season",
            "is cheaper if you book on a weekday",
            "offers spectacular views of the mountains",
            "gets very crowded around the national holidays",
            "requires a reservation for every leg",
            "covers lost luggage and medical costs",
            "must be requested at the embassy in person",
            "is best explored on foot early in the morning",
            "can take much longer than the timetable says",
            "suits families with small children",
        ),
        (
            "in the shoulder season",
            "for travellers on a tight budget",
            "according to a popular travel blog",
            "during the rainy months",
            "with a rail pass",
            "if you do not speak the local language",
            "on a two-week holiday",
            "for solo travellers",
        ),
        (
            "what is the best time for {s}",
            "how much does {s} cost",
            "do I need to book {s} in advance",
            "is {s} worth it",
        ),
    ),
    Topic(
        "football",
        (
            "the home team's new striker",
            "a penalty shootout",
            "the league's youngest goalkeeper",
            "the offside rule",
            "the video assistant referee",
            "a counter-attacking style of play",
            "the transfer window",
            "the national team coach",
            "an injury to the team captain",
            "the cup final",
            "a crowded fixture list",
            "the club's youth academy",
        ),
        (
            "decided the match in the last minute",
            "divides fans and pundits every season",
            "kept a clean sheet for five games in a row",
            "was changed after a controversial decision",
            "slows the game down more than it should",
            "suits a team with fast wingers",
            "closes at midnight at the end of the month",
            "announced the squad for the qualifiers",
            "rules him out for the rest of the season",
            "produced several players for the first team",
        ),
        (
            "in front of a sold-out stadium",
            "in the second half",
            "according to the club's official statement",
            "during the away game in Madrid",
            "after a goalless draw",
            "in the group stage",
            "on a rainy evening in Manchester",
            "with ten men on the pitch",
        ),
        (
            "what happened with {s}",
            "how does {s} work",
            "why is everyone talking about {s}",
            "what is the latest news on {s}",
        ),
    ),
    Topic(
        "gardening",
        (
            "tomato seedlings",
            "a rose bush",
            "a compost heap",
            "the lawn",
            "a raised vegetable bed",
            "lavender",
            "an apple tree",
            "aphids on the leaves",
            "a herb garden on the balcony",
            "spring bulbs",
            "a wildflower meadow",
            "potted orchids",
        ),
        (
            "should get plenty of sun and regular watering",
            "should be pruned in late winter",
            "will do better if it is turned every week",
            "can turn yellow in a long dry spell",
            "will flower earlier than in the open ground",
            "can thrive in poor, sandy soil",
            "may need a second plant nearby for pollination",
            "can be washed off with soapy water",
            "can grow well in small containers",
            "should be planted before the first frost",
        ),
        (
            "in a north-facing garden",
            "in heavy clay soil",
            "according to the local gardening club",
            "without chemical pesticides",
            "in a cold climate",
            "during a hosepipe ban",
            "on a small city balcony",
            "after a wet spring",
        ),
        (
            "when should I plant {s}",
            "how do I look after {s}",
            "what is wrong with {s}",
            "how often should I water {s}",
        ),
    ),
    Topic(
        "music",
        (
            "a string quartet",
            "the electric guitar",
            "a jazz improvisation",
            "the grand piano",
            "a film soundtrack",
            "a choir rehearsal",
            "the vinyl record revival",
            "a summer music festival",
            "music theory lessons",
            "a symphony orchestra",
            "a home recording studio",
            "a folk song",
        ),
        (
            "needs hours of practice every day",
            "sounds warmer through valve amplifiers",
            "follows a chord progression only loosely",
            "has to be tuned before every concert",
            "sets the mood of the whole scene",
            "brings together singers of all ages",
            "has made record shops popular again",
            "attracts tens of thousands of visitors",
            "can make it easier to learn a new instrument",
            "performed a new piece by a young composer",
        ),
        (
            "at the concert hall last Saturday",
            "for complete beginners",
            "according to a well-known music critic",
            "in a small village church",
            "on a limited budget",
            "in the late nineteen-sixties",
            "with a live audience",
            "during the winter tour",
        ),
        (
            "how do I get started with {s}",
            "what makes {s} special",
            "where can I hear {s}",
            "how much does {s} cost",
        ),
    ),
    Topic(
        "law",
        (
            "a tenancy agreement",
            "a parking fine",
            "an employment contract",
            "a last will and testament",
            "a data protection complaint",
            "a small claims court case",
            "a trademark registration",
            "a non-disclosure agreement",
            "a divorce settlement",
            "a product warranty",
            "a building permit",
            "a copyright infringement claim",
        ),
        (
            "can be cancelled with three months' notice",
            "may be appealed within twenty-eight days",
            "must state the notice period clearly",
            "should be witnessed by two people",
            "goes to the national supervisory authority",
            "does not require a lawyer",
            "protects a brand name in every member state",
            "binds both parties even after the project ends",
            "divides the shared property between the partners",
            "covers defects for at least two years",
        ),
        (
            "under the current national law",
            "if the landlord refuses to cooperate",
            "according to a recent court ruling",
            "for a small business",
            "when the other party lives abroad",
            "before any money changes hands",
            "as a consumer buying online",
            "after the deadline has passed",
        ),
        (
            "how do I challenge {s}",
            "what should be in {s}",
            "do I need a lawyer for {s}",
            "what are my rights with {s}",
        ),
    ),
)

PASSAGE_SEED = 17
QUERY_SEED = 23
GATE_PASSAGES = 1000
GATE_QUERIES = 50

_CONNECTIVES = ("Also,", "However,", "In practice,", "Note that", "As a rule,", "Surprisingly,", "By contrast,")
_TITLE_FORMS = ("{s}: a practical guide", "Notes on {s}", "Everything about {s}", "{s} explained", "FAQ: {s}")


def _capitalise(text: str) -> str:
    return text[0].upper() + text[1:]


def _sentence(rng: random.Random, topic: Topic, subject: str, opening: str = "") -> str:
    """One statement about `subject`, in one of several shapes so the topic's passages do not share a skeleton."""
    shape = rng.randrange(5)
    action = rng.choice(topic.actions)
    if shape == 0:
        text = f"{subject} {action}."
    elif shape == 1:
        text = f"{subject} {action} {rng.choice(topic.details)}."
    elif shape == 2:
        text = f"{rng.choice(topic.details)}, {subject} {action}."
    elif shape == 3:
        text = f"most people find that {subject} {action}."
    else:
        first, second = rng.sample(topic.actions, 2)
        text = f"{subject} {first} and {second}."
    return f"{opening} {text}" if opening else _capitalise(text)


def _passage(rng: random.Random) -> str:
    """Mostly one sentence, like the snippets of a knowledge base; some titles and a few short paragraphs.

    Short texts keep the gate cheap (its cost grows with the tokens embedded) and are where rounding shows most:
    a long text's mean over many token vectors averages the rounding errors out.
    """
    topic = rng.choice(TOPICS)
    subject = rng.choice(topic.subjects)
    kind = rng.random()
    if kind < 0.1:
        return _capitalise(rng.choice(_TITLE_FORMS).format(s=subject))
    sentences = [_sentence(rng, topic, subject)]
    if kind > 0.97:
        for _ in range(rng.randint(2, 4)):
            # Later sentences sometimes turn to a second subject of the same topic, as real paragraphs drift.
            other = subject if rng.random() < 0.6 else rng.choice(topic.subjects)
            sentences.append(_sentence(rng, topic, other, rng.choice(_CONNECTIVES) if rng.random() < 0.4 else ""))
    return " ".join(sentences)


def passages(count: int = GATE_PASSAGES, seed: int = PASSAGE_SEED) -> list[str]:
    """`count` distinct passages over all topics, the same list for the same arguments."""
    rng = random.Random(seed)
    seen: set[str] = set()
    texts: list[str] = []
    while len(texts) < count:
        text = _passage(rng)
        if text not in seen:
            seen.add(text)
            texts.append(text)
    return texts


def queries(count: int = GATE_QUERIES, seed: int = QUERY_SEED) -> list[str]:
    """Short questions, as a search box gets them: a topic's question form around one of its subjects."""
    rng = random.Random(seed)
    texts: list[str] = []
    seen: set[str] = set()
    while len(texts) < count:
        topic = TOPICS[len(texts) % len(TOPICS)]  # every topic asked about equally often
        question = rng.choice(topic.questions).format(s=rng.choice(topic.subjects))
        text = _capitalise(question) + "?"
        if text not in seen:
            seen.add(text)
            texts.append(text)
    return texts
