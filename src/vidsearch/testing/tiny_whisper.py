"""A tiny random Whisper, built offline, that both speech backends load like a real one.

    python -m vidsearch.testing.tiny_whisper DIR

`ensure_tiny_whisper(cache)` writes (once per TINY_WHISPER_VERSION) two folders:

- `hf/`: a transformers `WhisperForConditionalGeneration` checkpoint with a generation
  config, a feature-extractor config and a `tokenizer.json`;
- `ct2/`: the same weights converted by CTranslate2, for faster-whisper.

The vocabulary has real Whisper's layout (51865 ids: text, <|endoftext|>, the language
tokens, task tokens, <|notimestamps|>, then 1501 timestamps), because CTranslate2 and
faster-whisper find special tokens by name and judge a model multilingual by its size. The
text part is a byte-level BPE learnt from a few sentences, padded with pseudo-words.

The weights are random, so the "transcript" is garbage; the output projection is arranged so
that learnt text tokens always beat <|endoftext|> and the timestamps: decoding runs until the
caller's `max_new_tokens` cap (keep it small in tests) and yields non-empty text.
"""

from __future__ import annotations

import itertools
import json
import shutil
import string
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from vidsearch.encoders.torch_extra import require_torch
from vidsearch.speech.models import WHISPER_LANGUAGES
from vidsearch.speech.recognizer import Segment

# Bump when the files written change: cached builds under another version are rebuilt.
TINY_WHISPER_VERSION = 2
TEXT_VOCAB = 50257  # ids below <|endoftext|>, as in Whisper's GPT-2 vocabulary
TIMESTAMPS = 1501  # <|0.00|> .. <|30.00|>
LEARNT_VOCAB = 600  # the BPE part learnt from the corpus; the rest is padding
CORPUS = [
    "a man running on the beach at sunset",
    "the red car is parked in the street",
    "two dogs are playing in the snow",
    "a woman reads a book in the cafe",
    "children laugh in a green park",
    "مردی هنگام غروب در ساحل می‌دود",
    "یک ماشین قرمز در خیابان پارک شده است",
    "دو سگ در برف بازی می‌کنند",
    "زنی در کافه کتاب می‌خواند",
]
SPECIAL_BEFORE_LANGUAGES = ["<|endoftext|>", "<|startoftranscript|>"]
SPECIAL_AFTER_LANGUAGES = [
    "<|translate|>",
    "<|transcribe|>",
    "<|startoflm|>",
    "<|startofprev|>",
    "<|nocaptions|>",
    "<|notimestamps|>",
]


def special_tokens() -> list[str]:
    """Every token after the text vocabulary, in Whisper's order (ids from 50257 on)."""
    languages = [f"<|{code}|>" for code in WHISPER_LANGUAGES]
    timestamps = [f"<|{i * 0.02:.2f}|>" for i in range(TIMESTAMPS)]
    return [*SPECIAL_BEFORE_LANGUAGES, *languages, *SPECIAL_AFTER_LANGUAGES, *timestamps]


def build_tokenizer():  # -> tokenizers.Tokenizer
    """A byte-level BPE with Whisper's 51865-id layout, made offline."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, trainers

    learnt = Tokenizer(models.BPE())
    learnt.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    trainer = trainers.BpeTrainer(
        vocab_size=LEARNT_VOCAB,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    # Whisper writes a space before each segment's first word: learn " word" tokens, or a lone
    # " " token starts every sentence (and faster-whisper suppresses it as a non-speech token).
    learnt.train_from_iterator([" " + line for line in CORPUS] * 4, trainer=trainer)
    state = json.loads(learnt.to_str())
    vocab: dict[str, int] = state["model"]["vocab"]
    fillers = ("Ġ" + "".join(t) for n in (2, 3, 4) for t in _letters(n))
    for word in fillers:
        if len(vocab) >= TEXT_VOCAB - 1:
            break
        vocab.setdefault(word, len(vocab))
    # Whisper's multilingual vocabulary ends its text part with an empty token, and
    # CTranslate2 (4.8) judges a model multilingual by finding it.
    vocab[""] = TEXT_VOCAB - 1
    state["model"]["vocab"] = vocab
    tokenizer = Tokenizer.from_str(json.dumps(state))
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.add_special_tokens([AddedToken(t, special=True) for t in special_tokens()])
    assert tokenizer.get_vocab_size() == TEXT_VOCAB + len(special_tokens()) == 51865
    return tokenizer


def _letters(n: int):
    return itertools.product(string.ascii_lowercase, repeat=n)


def _generation_config(tokenizer, shape: dict[str, int]) -> dict:
    ids = tokenizer.token_to_id
    return {
        "decoder_start_token_id": ids("<|startoftranscript|>"),
        "bos_token_id": ids("<|endoftext|>"),
        "eos_token_id": ids("<|endoftext|>"),
        "pad_token_id": ids("<|endoftext|>"),
        "no_timestamps_token_id": ids("<|notimestamps|>"),
        "prev_sot_token_id": ids("<|startofprev|>"),
        "is_multilingual": True,
        "lang_to_id": {f"<|{c}|>": ids(f"<|{c}|>") for c in WHISPER_LANGUAGES},
        "task_to_id": {"transcribe": ids("<|transcribe|>"), "translate": ids("<|translate|>")},
        "max_initial_timestamp_index": 50,
        "max_length": 448,
        "suppress_tokens": [],
        "begin_suppress_tokens": [ids("<|endoftext|>")],
        "alignment_heads": [[shape["layers"] - 1, 0], [shape["layers"] - 1, 1]],
    }


# Whisper's real architectures (OpenAI's model card), for benchmarks with random weights.
TINY_SHAPE = {"d_model": 64, "layers": 2, "heads": 4, "ffn": 128}
WHISPER_SHAPES = {
    "tiny": {"d_model": 384, "layers": 4, "heads": 6, "ffn": 1536},
    "base": {"d_model": 512, "layers": 6, "heads": 8, "ffn": 2048},
    "small": {"d_model": 768, "layers": 12, "heads": 12, "ffn": 3072},
    "medium": {"d_model": 1024, "layers": 24, "heads": 16, "ffn": 4096},
}


def write_tiny_whisper_hf(
    directory: Path, *, seed: int = 0, shape: dict[str, int] | None = None
) -> Path:
    """The transformers checkpoint (random weights) with its tokenizer and configs.

    `shape` (d_model, layers, heads, ffn) defaults to TINY_SHAPE; WHISPER_SHAPES gives the
    real sizes, for measuring speed (meaningless text, true compute cost)."""
    shape = shape or TINY_SHAPE
    torch = require_torch("writing the tiny Whisper", "transformers")
    from transformers import (
        GenerationConfig,
        PreTrainedTokenizerFast,
        WhisperConfig,
        WhisperFeatureExtractor,
        WhisperForConditionalGeneration,
    )
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer()
    ids = tokenizer.token_to_id
    config = WhisperConfig(
        vocab_size=tokenizer.get_vocab_size(),
        num_mel_bins=80,
        d_model=shape["d_model"],
        encoder_layers=shape["layers"],
        decoder_layers=shape["layers"],
        encoder_attention_heads=shape["heads"],
        decoder_attention_heads=shape["heads"],
        encoder_ffn_dim=shape["ffn"],
        decoder_ffn_dim=shape["ffn"],
        max_source_positions=1500,
        max_target_positions=448,
        decoder_start_token_id=ids("<|startoftranscript|>"),
        bos_token_id=ids("<|endoftext|>"),
        eos_token_id=ids("<|endoftext|>"),
        pad_token_id=ids("<|endoftext|>"),
        tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    model = WhisperForConditionalGeneration(config).eval()
    with torch.no_grad():
        # Learnt text tokens score far above everything else, so the random decoder writes
        # words (never <|endoftext|>, never a run of bare timestamps) until its cap.
        weight = model.proj_out.weight
        weight.zero_()
        weight[:LEARNT_VOCAB].normal_(0.0, 1.0)
    model.generation_config = GenerationConfig(**_generation_config(tokenizer, shape))
    model.save_pretrained(directory)
    tokenizer.save(str(directory / "tokenizer.json"))
    wrapped = PreTrainedTokenizerFast(tokenizer_object=tokenizer)
    wrapped.save_pretrained(directory)  # tokenizer_config.json, for AutoTokenizer
    tokenizer.save(str(directory / "tokenizer.json"))  # the plain file, as Whisper ships it
    WhisperFeatureExtractor(feature_size=80).save_pretrained(directory)
    return directory


def convert_for_ctranslate2(hf_dir: Path, directory: Path) -> Path:
    """The CTranslate2 conversion faster-whisper loads (float32 weights: the compute type,
    int8 included, is chosen when loading)."""
    from ctranslate2.converters import TransformersConverter

    converter = TransformersConverter(
        str(hf_dir), copy_files=["tokenizer.json", "preprocessor_config.json"]
    )
    converter.convert(str(directory), force=True)
    return Path(directory)


def ensure_tiny_whisper(cache: Path) -> Path:
    """The tiny Whisper under `cache` (built once per version): returns the folder holding
    `hf/` and `ct2/`."""
    root = Path(cache) / f"tiny-whisper-v{TINY_WHISPER_VERSION}"
    done = root / "complete"
    if done.is_file():
        return root
    if root.exists():
        shutil.rmtree(root)
    write_tiny_whisper_hf(root / "hf")
    convert_for_ctranslate2(root / "hf", root / "ct2")
    done.write_text(f"{TINY_WHISPER_VERSION}\n")
    return root


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0] in {"-h", "--help"}:
        print(__doc__)
        return 0 if args and args[0] in {"-h", "--help"} else 2
    print(ensure_tiny_whisper(Path(args[0])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


# --- fitting: a tiny Whisper that memorises a few sentences -------------------------------

# Copies of each recording: shifted, louder or softer, noisier; half of them padded the way
# faster-whisper pads a window (zero features), half the way transformers does (silence).
FIT_VARIANTS = 6
CONV_GAIN = 30.0  # see fit_tiny_whisper
POSITION_GAIN = 0.1


def fit_tiny_whisper(
    root: Path,
    pairs: Sequence[tuple[np.ndarray, str | Sequence[Segment], str]],
    *,
    steps: int = 400,
    seed: int = 0,
    learning_rate: float = 6e-3,
    progress: Callable[[int, float], None] | None = None,
) -> Path:
    """Train the tiny Whisper on `pairs` of (16 kHz float32 audio, sentence, language) until it
    transcribes those recordings, then write `root/hf` and `root/ct2` like ensure_tiny_whisper.
    A window holding several sentences (packed spans) gives them as segments timed in the
    window instead of one sentence (testing.speech.speech_windows gives both kinds).

    The model MEMORISES its training sentences: it "recognises" only these recordings (and
    slightly shifted, louder, softer or noisier copies of them, as a video's audio codec and
    speech detection produce) and writes nonsense for anything else. It exists so that an
    end-to-end test can find a spoken sentence by searching for its words. Sentences should
    use words of CORPUS so the tokenizer has tokens for them. `progress(step, loss)` is
    called after each step. ~30 s on 2 CPU cores.
    """
    torch = require_torch("fitting the tiny Whisper", "transformers")
    from transformers import WhisperFeatureExtractor, WhisperForConditionalGeneration

    root = Path(root)
    hf_dir, ct2_dir = root / "hf", root / "ct2"
    write_tiny_whisper_hf(hf_dir, seed=seed)
    model = WhisperForConditionalGeneration.from_pretrained(hf_dir)
    tokenizer = build_tokenizer()
    extractor = WhisperFeatureExtractor.from_pretrained(hf_dir)
    rng = np.random.default_rng(seed)
    features, sequences = [], []
    for audio, said, language in pairs:
        for variant in range(FIT_VARIANTS):
            heard, lead = _augmented(audio, rng) if variant >= 2 else (audio, 0.0)
            mel = extractor(heard, sampling_rate=16_000, return_tensors="np").input_features[0]
            if variant % 2:  # faster-whisper pads the features with zeros, not the audio
                mel[:, len(heard) // 160 + 1 :] = 0.0
            features.append(mel)
            sequences.append(_target_sequence(tokenizer, said, language, len(audio), lead))
    inputs = torch.tensor(np.stack(features))
    width = max(len(s) for s in sequences)
    eot = tokenizer.token_to_id("<|endoftext|>")
    decoder_inputs = torch.full((len(sequences), width - 1), eot, dtype=torch.long)
    labels = torch.full((len(sequences), width - 1), -100, dtype=torch.long)
    for row, sequence in enumerate(sequences):
        decoder_inputs[row, : len(sequence) - 1] = torch.tensor(sequence[:-1])
        labels[row, : len(sequence) - 1] = torch.tensor(sequence[1:])
    torch.manual_seed(seed)
    # The random encoder stays as it is (its features still tell the recordings apart):
    # encoding each recording once and training only the decoder makes a step ~30x cheaper.
    with torch.no_grad():
        # A random encoder's output is nearly all position embedding (the convolutions'
        # 0.02-scale weights drown the audio): louder convolutions let the audio through.
        model.model.encoder.conv1.weight.mul_(CONV_GAIN)
        model.model.encoder.conv2.weight.mul_(CONV_GAIN)
        model.model.encoder.embed_positions.weight.mul_(POSITION_GAIN)
        encoded = torch.cat(
            [model.model.encoder(inputs[i : i + 4])[0] for i in range(0, len(inputs), 4)]
        )
    for parameter in model.model.encoder.parameters():
        parameter.requires_grad_(False)
    model.train()
    trained = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(trained, lr=learning_rate, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=learning_rate, total_steps=steps, pct_start=0.1
    )
    batch = min(8, len(sequences))
    for step in range(steps):
        rows = torch.randperm(len(sequences))[:batch]
        loss = model(
            encoder_outputs=(encoded[rows],),
            decoder_input_ids=decoder_inputs[rows],
            labels=labels[rows],
        ).loss
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        if progress is not None:
            progress(step, loss.item())
    model.eval()
    model.save_pretrained(hf_dir)
    convert_for_ctranslate2(hf_dir, ct2_dir)
    return root


def _target_sequence(
    tokenizer, said: str | Sequence[Segment], language: str, samples: int, lead: float
) -> list[int]:
    """<|startoftranscript|><|lang|><|transcribe|> then, for one sentence, <|0.00|> text
    <|end|>; for segments, <|start|> text <|end|> each (shifted by `lead`); <|endoftext|>."""
    ids = tokenizer.token_to_id
    first_timestamp = ids("<|notimestamps|>") + 1

    def timestamp(seconds: float) -> int:
        return first_timestamp + min(TIMESTAMPS - 1, max(0, round(seconds / 0.02)))

    if isinstance(said, str):
        segments = [Segment(0.0, samples / 16_000, said)]
    else:
        segments = [Segment(s.start + lead, s.end + lead, s.text) for s in said]
    body: list[int] = []
    for segment in segments:
        body.append(timestamp(segment.start))
        body.extend(tokenizer.encode(" " + segment.text.strip(), add_special_tokens=False).ids)
        body.append(timestamp(segment.end))
    return [
        ids("<|startoftranscript|>"),
        ids(f"<|{language}|>"),
        ids("<|transcribe|>"),
        *body,
        ids("<|endoftext|>"),
    ]


def _augmented(audio: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """A shifted, louder or softer, noisier copy of `audio`, and the seconds it is shifted."""
    lead = np.zeros(int(rng.uniform(0.0, 0.4) * 16_000), np.float32)
    noise = rng.standard_normal(len(audio)).astype(np.float32) * rng.uniform(0.0, 0.004)
    copy = np.concatenate([lead, audio * rng.uniform(0.6, 1.4) + noise]).astype(np.float32)
    return copy, len(lead) / 16_000
