"""AMI model families and their named architectures.

Architectures (``--arch``):
  - ``ami_transformer``: fairseq's ``transformer`` defaults (6+6 layers, 512 wide);
  - ``ami_transformer_small``: 3+3 layers, 256 wide, 4 heads;
  - ``ami_transformer_tiny``: 2+2 layers, 128 wide (the CPU demo);
  - ``ami_transformer_test``: 1+1 layer, 32 wide (unit tests);
  - ``ami_lstm``: fairseq's ``lstm`` defaults (1+1 layers, 512 wide);
  - ``ami_lstm_small``: 2+2 layers, 500 wide, the official release's model;
  - ``ami_lstm_tiny``: 1+1 layers, 256 hidden, 128-wide embeddings (the CPU demo);
  - ``ami_lstm_test``: 1+1 layer, 32 wide (unit tests).
Every option of fairseq's ``transformer`` / ``lstm`` models applies.
"""

from fairseq.models import register_model, register_model_architecture
from fairseq.models.lstm import LSTMModel
from fairseq.models.lstm import base_architecture as lstm_base_architecture
from fairseq.models.transformer import TransformerModel
from fairseq.models.transformer.transformer_legacy import (
    base_architecture as transformer_base_architecture,
)

from fairseq_plugins.models.ami_model import AMIModel


@register_model("ami_transformer")
class AMITransformerModel(AMIModel):
    """AMI with Transformer forward and backward networks."""

    network_class = TransformerModel
    family = "transformer"


@register_model("ami_lstm")
class AMILSTMModel(AMIModel):
    """AMI with LSTM (attentional) forward and backward networks."""

    network_class = LSTMModel
    family = "lstm"


def _set_defaults(args, **defaults):
    for name, value in defaults.items():
        if getattr(args, name, None) is None:
            setattr(args, name, value)


def noise_network_defaults(args):
    # YAML configs (fairseq-hydra-train) skip add_args, so every option needs a default here.
    _set_defaults(args, noise_hidden_dim=None, noise_init_std=0.5)


@register_model_architecture("ami_transformer", "ami_transformer")
def ami_transformer(args):
    noise_network_defaults(args)
    transformer_base_architecture(args)


@register_model_architecture("ami_transformer", "ami_transformer_small")
def ami_transformer_small(args):
    _set_defaults(
        args, encoder_embed_dim=256, encoder_ffn_embed_dim=1024, encoder_attention_heads=4,
        encoder_layers=3, decoder_embed_dim=256, decoder_ffn_embed_dim=1024,
        decoder_attention_heads=4, decoder_layers=3,
    )
    ami_transformer(args)


@register_model_architecture("ami_transformer", "ami_transformer_tiny")
def ami_transformer_tiny(args):
    _set_defaults(
        args, encoder_embed_dim=128, encoder_ffn_embed_dim=512, encoder_attention_heads=4,
        encoder_layers=2, decoder_embed_dim=128, decoder_ffn_embed_dim=512,
        decoder_attention_heads=4, decoder_layers=2,
    )
    ami_transformer(args)


@register_model_architecture("ami_transformer", "ami_transformer_test")
def ami_transformer_test(args):
    _set_defaults(
        args, encoder_embed_dim=32, encoder_ffn_embed_dim=64, encoder_attention_heads=2,
        encoder_layers=1, decoder_embed_dim=32, decoder_ffn_embed_dim=64,
        decoder_attention_heads=2, decoder_layers=1,
    )
    ami_transformer(args)


@register_model_architecture("ami_lstm", "ami_lstm")
def ami_lstm(args):
    noise_network_defaults(args)
    lstm_base_architecture(args)


@register_model_architecture("ami_lstm", "ami_lstm_small")
def ami_lstm_small(args):
    _set_defaults(
        args, encoder_embed_dim=500, encoder_hidden_size=500, encoder_layers=2,
        decoder_embed_dim=500, decoder_hidden_size=500, decoder_layers=2,
        decoder_out_embed_dim=500, dropout=0.3,
    )
    ami_lstm(args)


@register_model_architecture("ami_lstm", "ami_lstm_tiny")
def ami_lstm_tiny(args):
    _set_defaults(
        args, encoder_embed_dim=128, encoder_hidden_size=256, encoder_layers=1,
        decoder_embed_dim=128, decoder_hidden_size=256, decoder_layers=1,
        decoder_out_embed_dim=128, dropout=0.1,
    )
    ami_lstm(args)


@register_model_architecture("ami_lstm", "ami_lstm_test")
def ami_lstm_test(args):
    _set_defaults(
        args, encoder_embed_dim=32, encoder_hidden_size=32, encoder_layers=1,
        decoder_embed_dim=32, decoder_hidden_size=32, decoder_layers=1,
        decoder_out_embed_dim=32,
    )
    ami_lstm(args)
