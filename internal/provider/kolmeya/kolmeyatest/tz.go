package kolmeyatest

import _ "time/tzdata" // São Paulo time on machines without a zoneinfo database
