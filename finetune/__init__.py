"""LoRA fine-tuning: training-set builder and trainer."""
