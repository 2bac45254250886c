"""loop: the bot is going round in circles.

Fires when the bot has answered ``max_turns`` times (default 3) without the ticket being
resolved (the ticket's count of bot turns, or the bot messages since the last agent message,
whichever is higher); when the customer asks again what they already asked and the bot
already answered (a character-trigram and word-set similarity of at least ``threshold``,
default 0.8); or when, after a bot answer, the customer says it did not help ("that didn't
help", "not what I asked", "you already said that", in English, German, French, Spanish and
Portuguese).
"""

from __future__ import annotations

from bridge.decision.triggers.base import (
    Fired,
    TriggerContext,
    compile_rules,
    normalise,
    search,
    trigger,
    words,
)
from bridge.events import Message, Role
from bridge.policy import TriggerSettings

DEFAULT_MAX_TURNS = 3
DEFAULT_SIMILARITY = 0.8
# Shorter messages ("ok", "thanks", "yes") repeat naturally; they are not a repeated question.
MIN_REPEAT_CHARS = 12

_DIDNT_HELP = compile_rules(
    (
        (
            "en",
            r"\b(?:that|this|it|your (?:answer|reply|response)|the (?:answer|article|link"
            r"|suggestion)) (?:didn't|did not|doesn't|does not|isn't|is not|wasn't|was not|won't"
            r"|hasn't|has not) (?:help|helping|helped|work|answer|solve|fix|resolve|useful"
            r"|helpful|what i)\w*|\bnot what i (?:asked|meant|need|wanted|was asking)|\byou"
            r" (?:already|just) (?:said|told me|sent|gave me) (?:that|this|the same)|\byou said"
            r" that already|\byou keep (?:saying|repeating|sending|giving me)|\bsame (?:answer"
            r"|reply|response|thing) (?:again|as before)|\b(?:doesn't|does not|didn't|did not"
            r"|don't|do not) answer my question|\bnot (?:helpful|helping|useful)\b|\bi (?:already"
            r" (?:tried|did|read|checked|followed)|have already (?:tried|done|read|checked))"
            r" (?:that|this|it|those|these|the steps|the article)|\bthat'?s not (?:it|what i"
            r"|my question|the problem|my problem)|\bwrong answer\b|\byou(?:'re| are) not"
            r" (?:answering|listening|understanding)|\bstill (?:doesn't|does not|not) work"
            r"|\bstill (?:have|having) the (?:same )?(?:problem|issue)",
        ),
        (
            "de",
            r"\b(?:das|es|die antwort) (?:hilft|hat) (?:mir )?(?:nicht|nichts|kein)"
            r"|\bhat (?:mir )?nicht geholfen|\bhilft (?:mir )?nicht|\bdas habe ich nicht gefragt"
            r"|\bnicht (?:das|was) ich gefragt|\bhaben sie (?:schon|bereits) gesagt|\bhast du"
            r" (?:schon|bereits) gesagt|\bbeantwortet (?:meine frage )?nicht|\b(?:hab|habe) ich"
            r" (?:schon|bereits) (?:versucht|gemacht|probiert|gelesen)|\bfunktioniert (?:immer"
            r" )?noch nicht|\bimmer (?:noch )?dieselbe antwort",
        ),
        (
            "fr",
            r"\b(?:ca|cela|ceci) ne m'aide pas|\bca n'aide pas|\bne m'a pas aide|\bce n'est"
            r" pas (?:ce que j'ai demande|ma question)|\bvous (?:l'avez|avez) deja dit|\btu l'as"
            r" deja dit|\bne repond pas a ma question|\bj'ai deja (?:essaye|fait|lu)|\bca ne"
            r" marche (?:toujours )?pas|\btoujours la meme reponse|\bpas utile\b",
        ),
        (
            "es",
            r"\bno me (?:ayuda|ayudo|sirve|sirvio)\b|\beso no ayuda|\bno es lo que"
            r" (?:pregunte|pedi)|\bya (?:me )?(?:lo )?(?:dijiste|has dicho|dijo|ha dicho)\b|\bno"
            r" responde (?:a )?mi pregunta|\bya lo (?:intente|probe|hice|lei)|\bsigue sin"
            r" funcionar|\bla misma respuesta\b|\bno sirve de nada\b",
        ),
        (
            "pt",
            r"\bnao (?:me )?(?:ajudou|ajuda|serviu|resolveu)\b|\bnao foi (?:isso|o) que eu"
            r" (?:perguntei|pedi)|\b(?:voce|vc) ja (?:disse|falou) isso|\bja disse isso\b|\bnao"
            r" responde (?:a )?minha pergunta|\bja tentei (?:isso|isto|fazer)|\bcontinua sem"
            r" funcionar|\ba mesma resposta\b",
        ),
    )
)


def _bot_turns(ctx: TriggerContext) -> int:
    """Bot messages since the last agent message: an agent's reply restarts the count."""
    count = 0
    for message in ctx.conversation:
        if message.role is Role.AGENT:
            count = 0
        elif message.role is Role.BOT:
            count += 1
    return max(count, ctx.ticket.bot_turns)


def _trigrams(text: str) -> set[str]:
    padded = f"  {text} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


def similarity(a: str, b: str) -> float:
    """How alike two messages are, 0..1: the higher of character-trigram Dice and word Jaccard.

    Trigrams catch the same words typed differently; the word set catches reordering.
    """
    left, right = words(a), words(b)
    if not left or not right:
        return 0.0
    grams_a, grams_b = _trigrams(left), _trigrams(right)
    dice = 2 * len(grams_a & grams_b) / (len(grams_a) + len(grams_b))
    tokens_a, tokens_b = set(left.split()), set(right.split())
    jaccard = len(tokens_a & tokens_b) / len(tokens_a | tokens_b)
    return max(dice, jaccard)


def _answered_questions(ctx: TriggerContext) -> list[Message]:
    """Earlier customer messages that a bot message answered before the latest message."""
    answered: list[Message] = []
    pending: list[Message] = []
    for message in ctx.conversation:
        if message.id == ctx.message.id:
            break
        if message.role is Role.CUSTOMER:
            pending.append(message)
        elif message.role is Role.BOT:
            answered.extend(pending)
            pending = []
        elif message.role is Role.AGENT:
            pending = []
    return answered


@trigger("loop")
def loop(ctx: TriggerContext, settings: TriggerSettings) -> Fired | None:
    turns = _bot_turns(ctx)
    max_turns = settings.max_turns or DEFAULT_MAX_TURNS
    if turns >= max_turns:
        return "max_turns", (f"bot_turns={turns}", f"max_turns={max_turns}")
    if turns == 0:
        return None  # nothing the bot said can have failed yet
    latest = ctx.message.text
    threshold = settings.threshold if settings.threshold is not None else DEFAULT_SIMILARITY
    if len(normalise(latest)) >= MIN_REPEAT_CHARS:
        for earlier in reversed(_answered_questions(ctx)):
            score = similarity(latest, earlier.text)
            if score >= threshold:
                return "repeated_question", (f"similarity={score:.2f}", earlier.text[:120])
    found = search(_DIDNT_HELP, words(latest))
    if found:
        return f"didnt_help.{found[0]}", (found[1],)
    return None
