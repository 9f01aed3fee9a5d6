//! TODO: BERT-family sentence-transformers with candle.
