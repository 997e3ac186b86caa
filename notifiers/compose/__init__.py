"""What a notice says: its variables, its templates rendered per channel and
language, SMS segment counting, the invite it carries.
"""
