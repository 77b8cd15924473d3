"""The bottom layer: the bank's vocabulary (products, categories, tiers), the daily rollup's columns and the
score scale. Every other package may import it; it imports nothing of ours but `settings` for type hints.
"""
