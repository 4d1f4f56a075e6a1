#include "RawLMDB.h"
