"""Grouping complaints into recurring problems by meaning, in Spanish and English.

Pure functions, no database: the problems domain stores what these compute.

* :func:`clean_for_grouping` drops what says nothing about the problem (handles, links,
  greetings) so two tweets to different airlines about lost bags land together.
* :func:`embed_unit` gives unit-length multilingual sentence embeddings (the same encoder as
  the sentiment model), so a cosine similarity is a dot product and a Spanish complaint sits
  next to its English twin.
* :class:`Grouper` assigns embeddings one at a time (or in batches) to the nearest centroid,
  or starts a new group when nothing is similar enough: incremental nearest-centroid
  clustering, the same rule the problems job applies to each new complaint.
* :func:`key_terms` labels groups with class-based TF-IDF over words and word pairs, and
  :func:`representative` picks the member closest to the centroid.
"""

from __future__ import annotations

import html
import itertools
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from .text import MAX_MODEL_CHARS, fold, sanitize

NAME = "grouping"
VERSION = "1.0.0"
EMBED_DIM = 512
#: A complaint below this cosine similarity to every problem starts a new problem.
DEFAULT_THRESHOLD = 0.45

FloatArray = NDArray[np.float32]

_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_HANDLE = re.compile(r"(?<![\w@])@\w{1,30}")
_HASH = re.compile(r"#(\w+)")
_EMAIL = re.compile(r"\S+@\S+\.\w+")
_WS = re.compile(r"\s+")
_QUOTED_REPLY = re.compile(r"^\s*>.*$", re.MULTILINE)
_REDACTED = re.compile(r"\bX{2,}\b|\b[X/]{4,}\b|\{\$[\d.,]*\}")
_TOKEN = re.compile(r"[a-z0-9ñ][a-z0-9ñ']*[a-z0-9ñ]|[a-z]")
# Order numbers, product codes and amounts ("OH-534394", "KE-200", "179,00"): never a key term,
# or "pedido oh" becomes the label of every complaint that quotes an order.
_CODE = re.compile(r"[\w-]*\d[\w,.-]*")


def clean_for_grouping(text: str) -> str:
    """The part of a complaint that says what went wrong (handles, links, quotes removed)."""
    text, _ = sanitize(text)
    text = html.unescape(text)
    text = _QUOTED_REPLY.sub(" ", text[: MAX_MODEL_CHARS * 2])
    text = _URL.sub(" ", text)
    text = _EMAIL.sub(" ", text)
    text = _HANDLE.sub(" ", text)
    text = _HASH.sub(r"\1", text)
    text = _REDACTED.sub(" ", text)
    return _WS.sub(" ", text).strip()[:MAX_MODEL_CHARS]


def word_count(text: str) -> int:
    return len(_TOKEN.findall(fold(text)))


def normalise(vectors: FloatArray) -> FloatArray:
    """Rows scaled to unit length (zero rows stay zero)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (vectors / norms).astype(np.float32)


def embed_unit(texts: Sequence[str]) -> FloatArray:
    """Unit-length sentence embeddings of already cleaned texts, shape (n, 512)."""
    from .model import embed

    return normalise(embed(list(texts)))


def to_bytes(vector: FloatArray, dtype: str = "float32") -> bytes:
    return np.asarray(vector, dtype=dtype).tobytes()


def from_bytes(data: bytes | None, dtype: str = "float32") -> FloatArray:
    if not data:
        return np.zeros(EMBED_DIM, dtype=np.float32)
    return np.frombuffer(data, dtype=dtype).astype(np.float32)


@dataclass(frozen=True)
class Reading:
    """What grouping needs from one complaint."""

    vector: FloatArray  # unit embedding of the cleaned text
    sentiment: str  # negative | neutral | positive (the shipped model)
    language: str  # es, en, ... or und
    words: int

    @property
    def groupable(self) -> bool:
        """Worth grouping: says something (three words or more) and is not praise."""
        return self.words >= MIN_WORDS and self.sentiment != "positive"


#: Fewer words than this say too little to group ("ok thanks").
MIN_WORDS = 3


def read_complaints(texts: Sequence[str]) -> list[Reading]:
    """Embed, classify and detect the language of complaints, in one encoder pass."""
    from .language import detect_language
    from .model import LABELS, features, load_shipped_model
    from .text import prepare

    cleaned = [clean_for_grouping(t) for t in texts]
    prepared = [prepare(c) for c in cleaned]
    x = features(prepared)
    probs, _ = load_shipped_model().predict(x)
    vectors = normalise(x[:, :EMBED_DIM])
    out = []
    for i, text in enumerate(texts):
        out.append(
            Reading(
                vector=vectors[i],
                sentiment=LABELS[int(np.argmax(probs[i]))] if cleaned[i] else "neutral",
                language=detect_language(cleaned[i] or text).code,
                words=word_count(cleaned[i]),
            )
        )
    return out


# --- incremental nearest-centroid grouping ---------------------------------------------------


@dataclass
class Grouper:
    """Groups held as centroid sums and sizes; each new vector joins the nearest or starts one.

    ``sums[k] / sizes[k]`` is group ``k``'s centroid; similarity is the cosine between a unit
    vector and the centroid. Adding or removing a member updates the sum exactly, so the
    result does not drift however many members pass through.
    """

    threshold: float = DEFAULT_THRESHOLD
    dim: int = EMBED_DIM
    sums: FloatArray = field(default_factory=lambda: np.zeros((0, EMBED_DIM), np.float32))
    sizes: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))
    _unit: FloatArray | None = None
    _capacity: int = 0
    _count: int = 0

    @classmethod
    def from_groups(
        cls, sums: Sequence[FloatArray], sizes: Sequence[int], threshold: float
    ) -> Grouper:
        g = cls(threshold=threshold)
        for s, n in zip(sums, sizes, strict=True):
            g._append(np.asarray(s, np.float32), int(n))
        return g

    @property
    def count(self) -> int:
        return self._count

    def _grow(self) -> None:
        cap = max(16, self._capacity * 2)
        sums = np.zeros((cap, self.dim), np.float32)
        unit = np.zeros((cap, self.dim), np.float32)
        sizes = np.zeros(cap, np.int64)
        if self._count:
            sums[: self._count] = self.sums[: self._count]
            sizes[: self._count] = self.sizes[: self._count]
            assert self._unit is not None
            unit[: self._count] = self._unit[: self._count]
        self.sums, self.sizes, self._unit, self._capacity = sums, sizes, unit, cap

    def _refresh(self, k: int) -> None:
        assert self._unit is not None
        norm = float(np.linalg.norm(self.sums[k]))
        self._unit[k] = self.sums[k] / norm if norm > 0 else 0.0

    def _append(self, vector_sum: FloatArray, size: int) -> int:
        if self._count >= self._capacity:
            self._grow()
        k = self._count
        self.sums[k] = vector_sum
        self.sizes[k] = size
        self._count += 1
        self._refresh(k)
        return k

    def centroid(self, k: int) -> FloatArray:
        return (self.sums[k] / max(int(self.sizes[k]), 1)).astype(np.float32)

    def nearest(self, vector: FloatArray) -> tuple[int, float]:
        """The most similar group and its similarity; (-1, 0.0) when there is none."""
        if self._count == 0:
            return -1, 0.0
        assert self._unit is not None
        sims = self._unit[: self._count] @ vector
        k = int(np.argmax(sims))
        return k, float(sims[k])

    def add(self, vector: FloatArray) -> tuple[int, float, bool]:
        """Assign one unit vector: (group, similarity, whether the group is new)."""
        k, sim = self.nearest(vector)
        if k < 0 or sim < self.threshold:
            return self._append(vector.astype(np.float32), 1), 1.0, True
        self.join(k, vector)
        return k, sim, False

    def join(self, k: int, vector: FloatArray) -> None:
        self.sums[k] += vector
        self.sizes[k] += 1
        self._refresh(k)

    def leave(self, k: int, vector: FloatArray) -> None:
        self.sums[k] -= vector
        self.sizes[k] = max(int(self.sizes[k]) - 1, 0)
        self._refresh(k)

    def add_batch(self, vectors: FloatArray) -> NDArray[np.int64]:
        """Assign many unit vectors in order; same rule as :meth:`add`, one matrix product.

        Similarities to the groups that existed before the batch are computed at once; a
        vector is then compared only with the groups the batch itself started. Centroids of
        groups joined in the batch move at its end (a batch of a few hundred in thousands of
        reports changes nothing measurable)."""
        n = len(vectors)
        out = np.empty(n, np.int64)
        base = self._count
        if base:
            assert self._unit is not None
            sims = vectors @ self._unit[:base].T
            best = np.argmax(sims, axis=1)
            best_sim = sims[np.arange(n), best]
        else:
            best = np.full(n, -1, np.int64)
            best_sim = np.full(n, -np.inf, np.float32)
        joined = np.zeros(n, bool)
        for i in range(n):
            v = vectors[i]
            k, sim = int(best[i]), float(best_sim[i])
            if self._count > base:
                assert self._unit is not None
                fresh = self._unit[base : self._count] @ v
                j = int(np.argmax(fresh))
                if float(fresh[j]) > sim:
                    k, sim = base + j, float(fresh[j])
            if k < 0 or sim < self.threshold:
                out[i] = self._append(v.astype(np.float32), 1)
            elif k >= base:
                self.join(k, v)
                out[i] = k
            else:
                out[i] = k
                joined[i] = True
        if base and joined.any():
            idx = out[joined]
            np.add.at(self.sums, idx, vectors[joined])
            np.add.at(self.sizes, idx, 1)
            for k in np.unique(idx):
                self._refresh(int(k))
        return out


# --- labels ----------------------------------------------------------------------------------

_STOP_EN_TEXT = """
a about above after again against all also am an and any are aren't as at be because been
before being below between both but by can can't cannot could couldn't did didn't do does
doesn't doing don't down during each even ever every few for from further get gets getting got
gotten had hadn't has hasn't have haven't having he her here hers herself him himself his how
i i'd i'll i'm i've if in into is isn't it it's its itself just let's like me more most much
must my myself no nor not now of off on once one only or other our ours ourselves out over own
please really same she should shouldn't so some still such than thank thanks that that's the
their theirs them themselves then there there's these they they're this those through to too
under until up us very via was wasn't we we're we've were weren't what when where which while
who whom why will with won't would wouldn't yes yet you you're your yours yourself ok okay
im ive dont cant didnt doesnt wont isnt u ur amp lol hi hello dear regards sir madam today
yesterday tomorrow day days time times now also going go went gone know said say says tell
told ask asked want wanted need needed make made take took way back well thing things lot
another would've could've us much many since again every two three first last new next
"""

_STOP_ES_TEXT = """
a al algo algun alguna algunas alguno algunos ante antes aqui asi aun aunque bien cada como
con contra cual cuales cuando de del desde donde dos durante e el ella ellas ello ellos en
entre era eran eres es esa esas ese eso esos esta estaba estaban estado estais estamos estan
estar estas este esto estos estoy fue fueron fui ha habia han has hasta hay he hola la las le
les lo los mas me mi mis mucho muchos muy nada ni no nos nosotros o os otra otras otro otros
para pero poco por porque que quien se sea ser si sido sin sobre solo son soy su sus tambien
te tener tengo tiene tienen todo todos tu tus un una uno unos usted ustedes vez ya yo gracias
saludos buenos buenas dias tardes noches hoy ayer manana hace estoy favor por favor quiero
queria puedo pueden ahora siempre nunca otra vez cosa cosas
"""

STOPWORDS = frozenset(fold(w) for w in re.findall(r"\S+", _STOP_EN_TEXT + _STOP_ES_TEXT))


def tokens(text: str) -> list[str]:
    """Lower-case, accent-free words of a text without stopwords or numbers."""
    return [
        t
        for t in _TOKEN.findall(_CODE.sub(" ", fold(clean_for_grouping(text))))
        if t not in STOPWORDS and not t.isdigit() and len(t) > 1
    ]


def terms(text: str) -> list[str]:
    """Words and adjacent word pairs (after stopwords go), each counted once per text."""
    words = tokens(text)
    pairs = [f"{a} {b}" for a, b in itertools.pairwise(words) if a != b]
    return list(dict.fromkeys(words + pairs))


def key_terms(groups: Sequence[Iterable[str]], top: int = 5, min_df: int = 2) -> list[list[str]]:
    """The most telling terms of each group's texts, by class-based TF-IDF.

    A term scores by the share of the group's texts that use it times the log of its lift
    (that share over its share in all texts): frequent in the group and rarer elsewhere. A
    word pair counts a little more than a word so "lost luggage" wins over "lost"; words
    inside a chosen pair are not repeated."""
    group_df: list[Counter[str]] = []
    sizes: list[int] = []
    for texts in groups:
        counter: Counter[str] = Counter()
        n = 0
        for text in texts:
            counter.update(terms(text))
            n += 1
        group_df.append(counter)
        sizes.append(n)
    total_docs = max(sum(sizes), 1)
    overall: Counter[str] = Counter()
    for c in group_df:
        overall.update(c)
    result: list[list[str]] = []
    for counter, n in zip(group_df, sizes, strict=True):
        floor = min_df if n >= 2 * min_df else 1
        scored = []
        for term, df in counter.items():
            if df < floor:
                continue
            share = df / max(n, 1)
            # How much more often the group uses the term than everyone does.
            lift = share / (overall[term] / total_docs)
            if lift <= 1.0 and len(group_df) > 1:
                continue
            bonus = 1.5 if " " in term else 1.0
            scored.append((share * math.log(1.0 + lift) * bonus, term))
        scored.sort(key=lambda x: (-x[0], x[1]))
        chosen: list[str] = []
        for _, term in scored:
            words = set(term.split())
            if any(term in c.split() or words <= set(c.split()) for c in chosen):
                continue
            chosen = [c for c in chosen if not (" " in term and set(c.split()) <= words)]
            chosen.append(term)
            if len(chosen) >= top:
                break
        result.append(chosen)
    return result


def label_from_terms(terms_: Sequence[str], fallback: str, count: int = 3) -> str:
    """A readable label: the first key terms, or the start of the example when none."""
    if terms_:
        return ", ".join(terms_[:count])[:200]
    words = fallback.split()
    short = " ".join(words[:8])
    return (short + ("…" if len(words) > 8 else ""))[:200] or "?"


def representative(vectors: FloatArray, centroid: FloatArray) -> int:
    """Index of the vector most similar to the centroid (-1 when there are none)."""
    if len(vectors) == 0:
        return -1
    return int(np.argmax(vectors @ centroid))


def split_in_two(vectors: FloatArray, iterations: int = 20) -> NDArray[np.int64]:
    """Two-way spherical k-means (deterministic start: the two least similar members)."""
    n = len(vectors)
    if n < 2:
        return np.zeros(n, np.int64)
    centroid = vectors.mean(axis=0)
    a = int(np.argmin(vectors @ centroid))
    b = int(np.argmin(vectors @ vectors[a]))
    centers = normalise(np.stack([vectors[a], vectors[b]]))
    labels = np.zeros(n, np.int64)
    for _ in range(iterations):
        new = np.argmax(vectors @ centers.T, axis=1)
        if (new == labels).all() and _ > 0:
            break
        labels = new
        for k in (0, 1):
            members = vectors[labels == k]
            if len(members):
                centers[k] = members.sum(axis=0)
        centers = normalise(centers)
    return labels


# --- agreement measures (for the benchmark and the docs) -------------------------------------


def _contingency(a: Sequence[object], b: Sequence[object]) -> NDArray[np.int64]:
    ia = {v: i for i, v in enumerate(dict.fromkeys(a))}
    ib = {v: i for i, v in enumerate(dict.fromkeys(b))}
    table = np.zeros((len(ia), len(ib)), np.int64)
    for x, y in zip(a, b, strict=True):
        table[ia[x], ib[y]] += 1
    return table


def adjusted_rand_index(truth: Sequence[object], found: Sequence[object]) -> float:
    """Hubert and Arabie's adjusted Rand index of two labellings (1 = identical)."""
    table = _contingency(truth, found)
    n = int(table.sum())

    def comb2(x: NDArray[np.int64]) -> float:
        return float((x * (x - 1) // 2).sum())

    index = comb2(table)
    rows = comb2(table.sum(axis=1))
    cols = comb2(table.sum(axis=0))
    total = n * (n - 1) / 2
    if total == 0:
        return 1.0
    expected = rows * cols / total
    maximum = (rows + cols) / 2
    if maximum == expected:
        return 1.0
    return (index - expected) / (maximum - expected)


def normalized_mutual_info(truth: Sequence[object], found: Sequence[object]) -> float:
    """Mutual information over the arithmetic mean of the entropies (0 to 1)."""
    table = _contingency(truth, found).astype(np.float64)
    n = table.sum()
    if n == 0:
        return 1.0
    p = table / n
    pa = p.sum(axis=1)
    pb = p.sum(axis=0)
    nz = p > 0
    mi = float((p[nz] * np.log(p[nz] / np.outer(pa, pb)[nz])).sum())
    ha = float(-(pa[pa > 0] * np.log(pa[pa > 0])).sum())
    hb = float(-(pb[pb > 0] * np.log(pb[pb > 0])).sum())
    if ha == 0 and hb == 0:
        return 1.0
    denom = (ha + hb) / 2
    return mi / denom if denom > 0 else 0.0
