"""A 20-newsgroups-like text folder, generated: one sub-folder per topic of ``.txt`` articles.

Each article mixes common words (a Zipf-distributed vocabulary shared by every topic) with a minority
of its topic's own words (also Zipf-distributed: a few frequent, many rare), some words of a
neighbouring topic (topics overlap, as ``comp.graphics`` and ``comp.windows`` do) and sentence
punctuation. No single word decides the topic: a model must weigh many weak cues, which a bag of
words does well and a model that overfits a few tokens does not.

Used by ``tests/test_text.py`` (small folders) and ``bench/text_default.py`` (the measured one).

Example:
    >>> from pathlib import Path
    >>> import tempfile
    >>> root = news_folder(Path(tempfile.mkdtemp()) / "news", topics=3, per_topic=4)
    >>> sorted(p.name for p in root.iterdir())
    ['topic0', 'topic1', 'topic2']
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

_SYLLABLES = [c + v for c in "bcdfghklmnprstvz" for v in "aeiou"]


def _words(rng: np.random.Generator, n: int, taken: set[str]) -> list[str]:
    """``n`` distinct pronounceable made-up words of 2 or 3 syllables, none of ``taken``."""
    found: list[str] = []
    while len(found) < n:
        word = "".join(rng.choice(_SYLLABLES, rng.integers(2, 4)))
        if word not in taken:
            taken.add(word)
            found.append(word)
    return found


def _zipf(n: int) -> np.ndarray:
    weights = 1.0 / np.arange(1, n + 1)
    return weights / weights.sum()


def news_folder(
    root: Path,
    topics: int = 5,
    per_topic: int = 300,
    common: int = 3000,
    topic_words: int = 300,
    length: tuple[int, int] = (40, 160),
    topic_share: float = 0.12,
    neighbour_share: float = 0.04,
    seed: int = 0,
) -> Path:
    """Write ``topics`` sub-folders of ``per_topic`` articles under ``root``; return ``root``.

    An article has ``length`` words (uniform); each is a topic word with probability ``topic_share``,
    a word of the next topic with ``neighbour_share``, else a common word. Word choice within each
    vocabulary is Zipf-distributed.
    """
    rng = np.random.default_rng(seed)
    taken: set[str] = set()
    shared = np.array(_words(rng, common, taken))
    own = [np.array(_words(rng, topic_words, taken)) for _ in range(topics)]
    p_shared, p_own = _zipf(common), _zipf(topic_words)
    for t in range(topics):
        folder = root / f"topic{t}"
        folder.mkdir(parents=True)
        neighbour = own[(t + 1) % topics]
        for i in range(per_topic):
            n = int(rng.integers(*length))
            source = rng.choice(3, n, p=[topic_share, neighbour_share, 1 - topic_share - neighbour_share])
            words = np.where(
                source == 0,
                rng.choice(own[t], n, p=p_own),
                np.where(source == 1, rng.choice(neighbour, n, p=p_own), rng.choice(shared, n, p=p_shared)),
            )
            sentences = [" ".join(words[s : s + 12]).capitalize() + "." for s in range(0, n, 12)]
            (folder / f"{i:04d}.txt").write_text(" ".join(sentences) + "\n", encoding="utf-8")
    return root
