"""The outbox engine: claims due notices, sends them through a channel, records
what happened. The domain's answer to each outcome is ``cases.notice_outcomes``'.
"""
