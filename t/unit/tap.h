/*
 * The few lines of TAP the C unit tests print for prove: ok() per check,
 * tap_done() for the plan and the exit status.  Included once by each test
 * program.
 */

#ifndef _TAP_H_INCLUDED_
#define _TAP_H_INCLUDED_


#include <stdio.h>


static int  tests;
static int  failures;


static void
ok(int cond, const char *name)
{
    tests++;

    if (!cond) {
        failures++;
    }

    printf("%sok %d - %s\n", cond ? "" : "not ", tests, name);
}


/* the plan at the end, and the exit status of the test program */
static int
tap_done(void)
{
    printf("1..%d\n", tests);

    return failures ? 1 : 0;
}


#endif /* _TAP_H_INCLUDED_ */
