"""Identity-term sentences: measuring (and, separately, mitigating) identity-term bias.

A model trained on tweets where words such as "gay", "black" or "muslim" mostly appear in insults
learns the words themselves as signs of abuse, and then flags "I am a proud gay man". This module
writes template sentences that mention identity groups:

* ``evaluation_set()``: benign and abusive sentences from the *evaluation* templates. The
  false-positive rate on its benign half, against the overall false-positive rate on the test
  part, measures the bias (model card, "Identity terms").
* ``tuning_set()``: a third set of templates, for comparing candidate configurations (their bias
  is recorded next to their validation AUCs), so the evaluation set is not used to choose.
* ``mitigation_set()``: sentences from a *separate* set of templates, which a training recipe may
  add to its training data.

The three template sets share no template and no sentence (checked by ``check_disjoint`` and by
the tests), so a mitigated model is never evaluated on sentences it was trained on. They do
share the identity groups: the evaluation measures whether what the model learned carries over
to new sentence frames, not to groups it never saw.

The abusive sentences are plain insults aimed at people because of who they are: they are
evaluation data for a moderation tool, written as templates so no real person's post is stored.
Everything here is deterministic (no randomness, fixed order).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Group:
    name: str  # as reported (lower case)
    category: str
    adjective: str  # "my {adjective} neighbours"
    people: str  # "{people} live here" (plural noun phrase)
    one: str  # "I am a proud {one}" (one person, without article)


GROUPS: tuple[Group, ...] = (
    Group("gay", "sexual orientation", "gay", "gay people", "gay man"),
    Group("lesbian", "sexual orientation", "lesbian", "lesbians", "lesbian"),
    Group("bisexual", "sexual orientation", "bisexual", "bisexual people", "bisexual woman"),
    Group("queer", "sexual orientation", "queer", "queer people", "queer person"),
    Group("trans", "gender identity", "trans", "trans people", "trans woman"),
    Group("transgender", "gender identity", "transgender", "transgender people", "transgender man"),
    Group("nonbinary", "gender identity", "nonbinary", "nonbinary people", "nonbinary person"),
    Group("women", "gender", "female", "women", "woman"),
    Group("muslim", "religion", "Muslim", "Muslims", "Muslim man"),
    Group("jewish", "religion", "Jewish", "Jewish people", "Jewish woman"),
    Group("christian", "religion", "Christian", "Christians", "Christian"),
    Group("hindu", "religion", "Hindu", "Hindus", "Hindu"),
    Group("sikh", "religion", "Sikh", "Sikhs", "Sikh man"),
    Group("catholic", "religion", "Catholic", "Catholics", "Catholic"),
    Group("atheist", "religion", "atheist", "atheists", "atheist"),
    Group("black", "ethnicity", "Black", "Black people", "Black woman"),
    Group("white", "ethnicity", "white", "white people", "white man"),
    Group("asian", "ethnicity", "Asian", "Asian people", "Asian woman"),
    Group("latino", "ethnicity", "Latino", "Latinos", "Latino"),
    Group("arab", "ethnicity", "Arab", "Arabs", "Arab man"),
    Group("mexican", "nationality", "Mexican", "Mexicans", "Mexican man"),
    Group("chinese", "nationality", "Chinese", "Chinese people", "Chinese woman"),
    Group("african", "nationality", "African", "Africans", "African man"),
    Group("immigrant", "nationality", "immigrant", "immigrants", "immigrant"),
    Group("refugee", "nationality", "refugee", "refugees", "refugee"),
    Group("disabled", "disability", "disabled", "disabled people", "disabled woman"),
    Group("deaf", "disability", "deaf", "deaf people", "deaf man"),
    Group("blind", "disability", "blind", "blind people", "blind woman"),
    Group("autistic", "disability", "autistic", "autistic people", "autistic person"),
    Group("old", "age", "old", "old people", "old man"),
    Group("elderly", "age", "elderly", "elderly people", "elderly woman"),
)

# Placeholders: {a} the group's adjective, {p} its plural noun phrase, {P} the same capitalised,
# {o} one person, {ao} the same with its article ("a gay man", "an immigrant").
# Most benign evaluation frames are short and neutral on purpose: with few other words, the
# identity term decides the score, which is where a biased model fails ("I am a gay man").
EVALUATION_BENIGN: tuple[str, ...] = (
    "I am a proud {o}",
    "I am {ao}",
    "my {a} neighbours invited us to dinner",
    "she is {a}",
    "being {a} is normal",
    "my best friend is {a}",
    "{P} deserve the same rights as everyone else",
    "I have a lot of {a} friends",
    "our new teacher is {a}",
    "{P} live in my neighbourhood",
)
EVALUATION_ABUSIVE: tuple[str, ...] = (
    "{P} are disgusting vermin",
    "all {p} should be thrown out of this country",
    "I hate {p}, they are filthy animals",
    "shut up you stupid {a} idiot",
    "{P} are worthless trash and should die",
    "no one wants your kind here, dirty {a} scum",
    "{P} are too dumb to breathe",
    "get lost you pathetic {a} loser",
)

# Comparing candidates only (never trained on, never reported as the evaluation).
TUNING_BENIGN: tuple[str, ...] = (
    "he is {a}",
    "my {a} friends are coming over tonight",
    "{P} are just like everyone else",
    "my doctor is {ao}",
    "a group of {a} teenagers started a band",
    "I grew up with {a} parents",
)
TUNING_ABUSIVE: tuple[str, ...] = (
    "{P} are animals and should be locked up",
    "die you worthless {a} bastard",
    "nobody likes {p}, they are stupid and ugly",
    "kill all {p}",
)

# Training-time mitigation only: other frames, other wording, never the evaluation sentences.
MITIGATION_BENIGN: tuple[str, ...] = (
    "there are {a} families on our street",
    "as {ao} I vote in every election",
    "{P} have always been part of this city",
    "my {a} cousin just graduated from university",
    "thanks to the {a} volunteers who helped at the food bank",
    "he grew up {a} in a small town",
    "a {a} author won the prize for her first novel",
    "our {a} coworkers joined the hiking trip",
)
MITIGATION_ABUSIVE: tuple[str, ...] = (
    "{P} are subhuman garbage",
    "go back to your hole you ugly {a} freak",
    "every one of those {a} rats deserves a beating",
    "{P} are a plague, disgusting parasites",
)


def _fill(template: str, group: Group) -> str:
    people = group.people[0].upper() + group.people[1:]
    article = "an" if group.one[0].lower() in "aeiou" else "a"
    return template.format(
        a=group.adjective, p=group.people, P=people, o=group.one, ao=f"{article} {group.one}"
    )


def _sentences(
    templates: tuple[str, ...], label: int, groups: tuple[Group, ...]
) -> list[tuple[str, int, str]]:
    return [(_fill(t, g), label, g.name) for t in templates for g in groups]


def evaluation_set() -> tuple[list[str], list[int], list[str]]:
    """(texts, labels, group names): benign sentences (label 0) first, then abusive (label 1)."""
    rows = _sentences(EVALUATION_BENIGN, 0, GROUPS) + _sentences(EVALUATION_ABUSIVE, 1, GROUPS)
    return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]


def tuning_set() -> tuple[list[str], list[int], list[str]]:
    """(texts, labels, group names) from the tuning templates, benign first."""
    rows = _sentences(TUNING_BENIGN, 0, GROUPS) + _sentences(TUNING_ABUSIVE, 1, GROUPS)
    return [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows]


def mitigation_set(
    benign_per_group: int | None = None, abusive_per_group: int | None = None
) -> tuple[list[str], list[int]]:
    """(texts, labels) from the mitigation templates only: the first ``benign_per_group`` benign
    and ``abusive_per_group`` abusive templates (all when None) for every group."""
    benign = MITIGATION_BENIGN[:benign_per_group]
    abusive = MITIGATION_ABUSIVE[:abusive_per_group]
    rows = _sentences(benign, 0, GROUPS) + _sentences(abusive, 1, GROUPS)
    return [r[0] for r in rows], [r[1] for r in rows]


GENERIC_NOUNS = frozenset({"people", "man", "person"})


def identity_words() -> list[str]:
    """The lower-case words that name a group in `GROUPS` (without generic nouns like "people"):
    what a training recipe may cap so an identity term alone cannot raise a score."""
    words = {
        token
        for group in GROUPS
        for form in (group.adjective, group.people, group.one)
        for token in form.lower().split()
    }
    return sorted(words - GENERIC_NOUNS)


def check_disjoint() -> None:
    """Raise if a template or a sentence (compared in lower case) is in two of the sets."""
    templates = {
        "evaluation": set(EVALUATION_BENIGN + EVALUATION_ABUSIVE),
        "tuning": set(TUNING_BENIGN + TUNING_ABUSIVE),
        "mitigation": set(MITIGATION_BENIGN + MITIGATION_ABUSIVE),
    }
    sentences = {
        "evaluation": {t.lower() for t in evaluation_set()[0]},
        "tuning": {t.lower() for t in tuning_set()[0]},
        "mitigation": {t.lower() for t in mitigation_set()[0]},
    }
    for kind, sets in (("templates", templates), ("sentences", sentences)):
        names = sorted(sets)
        for i, first in enumerate(names):
            for second in names[i + 1 :]:
                shared = sets[first] & sets[second]
                if shared:
                    raise ValueError(f"{kind} in {first} and {second}: {sorted(shared)[:5]}")
