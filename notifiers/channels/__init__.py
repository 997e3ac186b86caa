"""One adapter per channel and provider behind ``base.Notifier`` (and the fake
beside them), so a provider's vocabulary and limits stay in one module each.
"""
