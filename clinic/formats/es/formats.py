"""Spanish as written in the United States: dollar amounts read $1,500.50, as on any US bill.

Django's Spanish formats are Spain's ($1 500,50); everything else (dates, month names) is theirs.
"""

DECIMAL_SEPARATOR = "."
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
