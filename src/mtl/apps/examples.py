"""Ready-made sentences that ``mtl demo`` prints and the web app offers: one set per kind of trained model."""

from __future__ import annotations

# the example data's domain: Technology / Weather / Other, TECH and WEATHER spans
DEMO_SENTENCES = [
    "Apple unveiled a new iPhone in California",
    "The weather in Paris is terrible today",
    "Kubernetes makes it easy to deploy Python services",
    "Heavy rain and strong winds are expected this weekend",
    "She cooked pasta for her friends on Sunday",
]
# the real data's: SST-2 movie reviews and CoNLL-2003 news, tokenised as those data sets are
REAL_DEMO_SENTENCES = [
    "a gorgeous , witty , seductive movie .",
    "the plot is nothing but boilerplate clichés from start to finish",
    "EU rejects German call to boycott British lamb .",
    "Peter Blackburn flew from Brussels to New York on Monday .",
]
